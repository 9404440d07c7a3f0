-- How a customer cancels or reschedules: by inserting an appointment_changes
-- row. The database applies it to the appointment, and only to an
-- appointment of the same tenant and customer that is still open; anything
-- else fails the INSERT with a clear error, and nothing changes.
--
-- Errors raised here carry their own SQLSTATEs so callers can tell them
-- apart: MA001 not this customer's appointment, MA002 no longer changeable;
-- an overlapping reschedule is the exclusion constraint's 23P01.

create function apply_appointment_change() returns trigger
    language plpgsql
    -- The bot role may not UPDATE appointments; the change is applied with
    -- the owner's rights, after the checks below.
    security definer
    set search_path = pg_catalog, public
as $$
declare
    target appointments%rowtype;
begin
    select * into target from appointments where id = new.appointment_id for update;
    if not found or target.tenant_id <> new.tenant_id or target.customer_id <> new.customer_id then
        raise exception 'appointment % is not an appointment of customer % in tenant %',
                new.appointment_id, new.customer_id, new.tenant_id
            using errcode = 'MA001',
                  hint = 'a customer can change only their own appointments';
    end if;
    if target.status in ('cancelled', 'completed', 'no_show') then
        raise exception 'appointment % is % and can no longer be changed', target.id, target.status
            using errcode = 'MA002';
    end if;

    if new.action = 'cancel' then
        update appointments set status = 'cancelled' where id = target.id;
    else
        begin
            update appointments
               set starts_at = new.new_starts_at,
                   ends_at   = new.new_starts_at + (target.ends_at - target.starts_at)
             where id = target.id;
        exception when exclusion_violation then
            raise exception 'cannot move appointment % to %: it overlaps another appointment of the consultant',
                    target.id, new.new_starts_at
                using errcode = 'exclusion_violation',
                      constraint = 'appointments_no_overlap';
        end;
    end if;
    return null;
end
$$;

-- AFTER: the change row has passed row-level security and its foreign keys
-- before the appointment is touched; an error here undoes both.
create trigger appointment_changes_apply
    after insert on appointment_changes
    for each row execute function apply_appointment_change();

-- Ids are drawn from identity sequences, but fixtures and outside tools load
-- rows with explicit ids without moving the sequence. A bot INSERT (which
-- can never choose an id: it has no privilege on the column) skips ids that
-- are already taken instead of failing on a duplicate key.
create function skip_taken_id() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, public
as $$
declare
    taken boolean;
begin
    loop
        execute format('select exists (select 1 from %I.%I where id = $1)', tg_table_schema, tg_table_name)
            into taken using new.id;
        exit when not taken;
        new.id := nextval(pg_get_serial_sequence(format('%I.%I', tg_table_schema, tg_table_name), 'id'));
    end loop;
    return new;
end
$$;

create trigger appointments_skip_taken_id
    before insert on appointments
    for each row when (current_user = 'meetassist_bot')
    execute function skip_taken_id();

create trigger appointment_changes_skip_taken_id
    before insert on appointment_changes
    for each row when (current_user = 'meetassist_bot')
    execute function skip_taken_id();

revoke all on function apply_appointment_change() from public;
revoke all on function skip_taken_id() from public;
