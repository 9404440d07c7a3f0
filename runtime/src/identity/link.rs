//! Which Messenger sender is which customer. A sender that proved an email
//! is linked to that email's customer (created when the email is new in the
//! tenant) for [`super::OtpConfig::link_ttl`], 30 days by default; after
//! that the code is asked again.

use chrono::{DateTime, TimeDelta, Utc};
use tokio_postgres::GenericClient;

use super::address::EmailAddress;
use super::{IdentityError, database};

/// The longest full name a customer row takes, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A sender's link to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderLink {
    /// The customer.
    pub customer: i64,
    /// When the sender proved the email.
    pub verified_at: DateTime<Utc>,
    /// When the link ends and the code is asked again.
    pub expires_at: DateTime<Utc>,
}

/// The customer `sender` is linked to at `now`, if the link has not ended.
pub async fn linked_customer(
    client: &impl GenericClient,
    tenant: i64,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, IdentityError> {
    let row = client
        .query_opt(
            "select customer_id from sender_links
             where tenant_id = $1 and sender_psid = $2 and expires_at > $3",
            &[&tenant, &sender, &now],
        )
        .await
        .map_err(database("reading the sender's link"))?;
    Ok(row.map(|row| row.get(0)))
}

/// Links `sender` to `customer` from `now` for `ttl`, replacing any link
/// it had. Fails if the customer is not the tenant's (a composite foreign
/// key).
pub async fn link_sender(
    client: &impl GenericClient,
    tenant: i64,
    sender: &str,
    customer: i64,
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<SenderLink, IdentityError> {
    if sender.is_empty() {
        return Err(IdentityError::EmptySender);
    }
    let expires_at = now + ttl;
    client
        .execute(
            "insert into sender_links (tenant_id, sender_psid, customer_id, verified_at, expires_at)
             values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, sender_psid) do update
             set customer_id = excluded.customer_id,
                 verified_at = excluded.verified_at,
                 expires_at = excluded.expires_at",
            &[&tenant, &sender, &customer, &now, &expires_at],
        )
        .await
        .map_err(database("linking the sender to the customer"))?;
    tracing::info!(tenant, sender, customer, %expires_at, "sender linked");
    Ok(SenderLink {
        customer,
        verified_at: now,
        expires_at,
    })
}

/// The tenant's customer with this email, if there is one.
pub async fn customer_by_email(
    client: &impl GenericClient,
    tenant: i64,
    email: &EmailAddress,
) -> Result<Option<i64>, IdentityError> {
    // `lower(email)` is what the unique index is on, so this uses it.
    let row = client
        .query_opt(
            "select id from customers where tenant_id = $1 and lower(email) = $2",
            &[&tenant, &email.as_str()],
        )
        .await
        .map_err(database("finding the customer by email"))?;
    Ok(row.map(|row| row.get(0)))
}

/// Creates the tenant's customer for a proved email, with the full name the
/// bot asked for; `sender` is recorded as its Messenger id unless another
/// customer of the tenant has it. An email the tenant already has is
/// [`IdentityError::EmailTaken`], naming that customer (also when a
/// concurrent call created it first).
pub async fn create_customer(
    client: &impl GenericClient,
    tenant: i64,
    full_name: &str,
    email: &EmailAddress,
    sender: &str,
) -> Result<i64, IdentityError> {
    let full_name = full_name.trim();
    if full_name.is_empty()
        || full_name.chars().count() > MAX_NAME_CHARS
        || full_name.chars().any(char::is_control)
    {
        return Err(IdentityError::BadName);
    }
    if sender.is_empty() {
        return Err(IdentityError::EmptySender);
    }
    // ON CONFLICT DO NOTHING covers both unique indexes (email, sender):
    // a concurrent creator of the same email makes this insert nothing.
    let created = client
        .query_opt(
            "insert into customers (tenant_id, full_name, email, messenger_psid)
             select $1, $2, $3,
                    case when exists (select 1 from customers
                                      where tenant_id = $1 and messenger_psid = $4)
                         then null else $4 end
             on conflict do nothing
             returning id",
            &[&tenant, &full_name, &email.as_str(), &sender],
        )
        .await
        .map_err(database("creating the customer"))?;
    if let Some(row) = created {
        let customer: i64 = row.get(0);
        tracing::info!(tenant, sender, customer, "customer created");
        return Ok(customer);
    }
    if let Some(customer) = customer_by_email(client, tenant, email).await? {
        return Err(IdentityError::EmailTaken { tenant, customer });
    }
    // The sender's id was taken at the same instant by another customer:
    // create this one without it.
    let customer: i64 = client
        .query_one(
            "insert into customers (tenant_id, full_name, email) values ($1, $2, $3) returning id",
            &[&tenant, &full_name, &email.as_str()],
        )
        .await
        .map_err(database("creating the customer"))?
        .get(0);
    tracing::info!(tenant, sender, customer, "customer created");
    Ok(customer)
}
