-- The second wall behind the compiler. Model SQL runs as meetassist_bot,
-- which can SELECT and INSERT the model-visible tables and nothing else, and
-- sees only the rows of the tenant (and customer) set for the current
-- transaction:
--     select set_config('meetassist.tenant_id', '1', true);
--     select set_config('meetassist.customer_id', '7', true);
-- With nothing set, nothing is visible and nothing can be inserted.

-- Roles belong to the whole cluster, so several databases of one cluster
-- share this one; creating it (and its settings) must tolerate that it
-- exists, even when another database's migration is creating it right now.
do $$
begin
    if not exists (select from pg_roles where rolname = 'meetassist_bot') then
        begin
            create role meetassist_bot login nosuperuser nocreatedb nocreaterole noinherit nobypassrls;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
    -- A ceiling for anything the runtime forgets to bound itself.
    if not exists (
        select from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
        where r.rolname = 'meetassist_bot' and s.setdatabase = 0
          and 'statement_timeout=5s' = any (s.setconfig)
    ) then
        alter role meetassist_bot set statement_timeout = '5s';
    end if;
end
$$;

-- The session's identity, as the policies below read it. NULL when unset
-- or empty, so comparisons with it are never true.
create function meetassist_tenant_id() returns bigint
    language sql stable parallel safe
    return nullif(current_setting('meetassist.tenant_id', true), '')::bigint;

create function meetassist_customer_id() returns bigint
    language sql stable parallel safe
    return nullif(current_setting('meetassist.customer_id', true), '')::bigint;

-- No temporary tables: a temp table named like a real one would shadow it.
do $$
begin
    execute format('revoke temporary on database %I from public', current_database());
    execute format('grant connect on database %I to meetassist_bot', current_database());
end
$$;
revoke create on schema public from public;
grant usage on schema public to meetassist_bot;

-- Reading. consultants.email and .phone are staff-only: not granted.
grant select (id, tenant_id, full_name, specialty, bio, is_active) on consultants to meetassist_bot;
grant select on services, consultant_schedules, schedule_exceptions, busy_slots,
                customers, appointments, appointment_changes
    to meetassist_bot;

-- Writing: a booking, and a change to a booking. Never the id or created_at.
grant insert (tenant_id, consultant_id, customer_id, service_id, starts_at, ends_at, status, topic)
    on appointments to meetassist_bot;
grant insert (tenant_id, appointment_id, customer_id, action, new_starts_at, reason)
    on appointment_changes to meetassist_bot;

alter table consultants          enable row level security;
alter table services             enable row level security;
alter table consultant_schedules enable row level security;
alter table schedule_exceptions  enable row level security;
alter table customers            enable row level security;
alter table appointments         enable row level security;
alter table appointment_changes  enable row level security;

create policy bot_read on consultants for select to meetassist_bot
    using (tenant_id = meetassist_tenant_id());
create policy bot_read on services for select to meetassist_bot
    using (tenant_id = meetassist_tenant_id());
create policy bot_read on consultant_schedules for select to meetassist_bot
    using (tenant_id = meetassist_tenant_id());
create policy bot_read on schedule_exceptions for select to meetassist_bot
    using (tenant_id = meetassist_tenant_id());

create policy bot_read on customers for select to meetassist_bot
    using (tenant_id = meetassist_tenant_id() and id = meetassist_customer_id());

create policy bot_read on appointments for select to meetassist_bot
    using (tenant_id = meetassist_tenant_id() and customer_id = meetassist_customer_id());
create policy bot_insert on appointments for insert to meetassist_bot
    with check (tenant_id = meetassist_tenant_id()
                and customer_id = meetassist_customer_id()
                and status = 'pending');

create policy bot_read on appointment_changes for select to meetassist_bot
    using (tenant_id = meetassist_tenant_id() and customer_id = meetassist_customer_id());
create policy bot_insert on appointment_changes for insert to meetassist_bot
    with check (tenant_id = meetassist_tenant_id() and customer_id = meetassist_customer_id());
