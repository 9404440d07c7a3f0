-- The conversation engine's own tables: internal, never granted to
-- meetassist_bot (model SQL cannot name them; the bot role has no rights
-- on anything it is not granted).

-- One conversation per (tenant, sender): the language, the flow in
-- progress and its slots, the choices last offered, the last turns.
-- A turn locks its row (`for update`), so one sender's messages are
-- handled one at a time, and writes it back in the turn's transaction.
create table chat_sessions (
    tenant_id  bigint      not null references tenants(id),
    psid       text        not null check (length(psid) between 1 and 128),
    state      jsonb       not null,
    turns      bigint      not null default 0,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, psid)
);

-- Every statement the guard judged for a conversation: what the model
-- wrote, what ran (or the refusal's code), which policies fired and how
-- long it took. The dashboard's audit page reads it.
create table sql_audit (
    id           bigint generated always as identity primary key,
    tenant_id    bigint      not null references tenants(id),
    psid         text,
    customer_id  bigint,
    original_sql text        not null,
    final_sql    text,
    params       jsonb       not null default '[]',
    refused_with text,
    policies     jsonb       not null default '[]',
    elapsed_us   bigint      not null,
    created_at   timestamptz not null default now()
);
create index sql_audit_by_tenant on sql_audit (tenant_id, created_at desc);
