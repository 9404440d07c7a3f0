-- Callers that hold only the bot role's connection (`meetassist query`)
-- name a tenant by its slug; `tenants` stays unreadable to that role, and
-- this function answers only the id of the tenant with that slug.
create function meetassist_tenant_by_slug(wanted text) returns bigint
    language sql stable
    security definer
    set search_path = pg_catalog, public
    return (select id from tenants where slug = wanted);

revoke all on function meetassist_tenant_by_slug(text) from public;
grant execute on function meetassist_tenant_by_slug(text) to meetassist_bot;
