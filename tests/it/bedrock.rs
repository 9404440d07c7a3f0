//! The engine with the Bedrock model: the real SDK client against the fake
//! Converse server replaying `fixtures/bedrock/`, the real guard and a
//! seeded database. A turn must come out as it does with the offline
//! model; with Bedrock unreachable the customer gets the button fallback.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meetassist_runtime::chat::bedrock::{BedrockConfig, BedrockModel, StaticCredentials};
use meetassist_runtime::chat::model::Model;
use meetassist_runtime::chat::{Input, Reply};
use meetassist_runtime::guard::Guard;
use meetassist_runtime::testing::converse::FakeConverse;

use crate::support::TestDatabase;

/// 09:00 in Ho Chi Minh City on the day the recordings were made for.
const NOW: &str = "2026-11-25T02:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

async fn bedrock(endpoint: String) -> Model {
    let config = BedrockConfig {
        endpoint: Some(endpoint),
        timeout: Duration::from_secs(10),
        initial_backoff: Duration::from_millis(10),
        credentials: Some(StaticCredentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "test-secret".into(),
        }),
        ..BedrockConfig::default()
    };
    Model::Bedrock(BedrockModel::connect(&config).await.unwrap())
}

/// Plays `inputs` as one sender on a fresh seeded database with `model`;
/// the replies and the SQL the guard judged (`sql_audit.original_sql`).
async fn play(model: Model, guard: Arc<Guard>, inputs: &[Input]) -> (Vec<Reply>, Vec<String>) {
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    let outbox = tempfile::tempdir().unwrap();
    let tenant = meetassist_runtime::testing::tenant(&database, 1).await;
    let engine =
        meetassist_runtime::testing::chat_engine(&database, &tenant, guard, model, outbox.path())
            .await;
    let mut replies = Vec::new();
    for input in inputs {
        replies.push(
            engine
                .turn(&tenant, "bedrock-e2e", input.clone(), now())
                .await
                .unwrap(),
        );
    }
    let audit = owner
        .query("select original_sql from sql_audit order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect();
    (replies, audit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vietnamese_booking_through_bedrock_is_answered_as_offline() {
    let guard = Arc::new(meetassist_runtime::testing::guard());
    let inputs = [
        Input::Text("Mình muốn đặt lịch với anh An sáng mai".into()),
        Input::QuickReply("SERVICE:1".into()),
    ];
    let (offline, offline_sql) = play(Model::Offline, Arc::clone(&guard), &inputs).await;
    let fake = FakeConverse::start_with_fixtures().await.unwrap();
    let (replies, sql) = play(bedrock(fake.endpoint()).await, guard, &inputs).await;
    assert_eq!(replies, offline, "Bedrock's SQL: {sql:#?}");
    assert_eq!(
        serde_json::to_value(&replies[1]).unwrap()["awaiting"],
        "slot"
    );
    assert!(replies[1].messages.last().unwrap().quick_replies.len() >= 2);
    // Every model call was answered from a recording (no template stood
    // in), and every statement went through the guard.
    let requests = fake.requests();
    let unanswered: Vec<String> = requests
        .iter()
        .filter(|r| r.status != 200)
        .map(|r| r.last_user_text())
        .collect();
    assert!(unanswered.is_empty(), "no recording for: {unanswered:#?}");
    assert_eq!(sql.len(), offline_sql.len(), "{sql:#?}");
    // The directory (consultants, services) is read with the engine's own
    // templates at the start of each turn: no model call for those.
    let directory_reads = 2 * inputs.len();
    assert_eq!(
        requests.len(),
        sql.len() - directory_reads + 1,
        "one classify call and one SQL call per statement but the directory's"
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.last_user_text().contains("active consultants")),
        "the directory is not asked of the model"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.forced_tool() == Some("classify"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_bedrock_unreachable_a_typed_message_gets_the_buttons() {
    let guard = Arc::new(meetassist_runtime::testing::guard());
    let fake = FakeConverse::start_with_fixtures().await.unwrap();
    let endpoint = fake.endpoint();
    fake.stop();
    drop(fake);
    let (replies, sql) = play(
        bedrock(endpoint).await,
        guard,
        &[Input::Text("Mình muốn đặt lịch với anh An sáng mai".into())],
    )
    .await;
    let reply = serde_json::to_value(&replies[0]).unwrap();
    assert_eq!(reply["intent"], "other", "{reply:#}");
    assert_eq!(reply["awaiting"], "topic");
    let chips: Vec<&str> = replies[0].messages[0]
        .quick_replies
        .iter()
        .map(|o| o.payload.as_str())
        .collect();
    assert_eq!(
        chips,
        [
            "INTENT:book",
            "INTENT:availability",
            "INTENT:my_appointments",
            "INTENT:reschedule",
            "INTENT:cancel",
            "INTENT:services"
        ]
    );
    // The directory was still read, with the tasks' templates.
    assert_eq!(sql.len(), 2, "{sql:#?}");
}

#[tokio::test]
async fn with_bedrock_unreachable_the_buttons_still_book() {
    let guard = Arc::new(meetassist_runtime::testing::guard());
    let fake = FakeConverse::start_with_fixtures().await.unwrap();
    let endpoint = fake.endpoint();
    fake.stop();
    drop(fake);
    let database = TestDatabase::seeded().await;
    let outbox = tempfile::tempdir().unwrap();
    let tenant = meetassist_runtime::testing::tenant(&database, 1).await;
    let engine = meetassist_runtime::testing::chat_engine(
        &database,
        &tenant,
        guard,
        bedrock(endpoint).await,
        outbox.path(),
    )
    .await;
    let turn = async |input: Input| {
        let reply = engine.turn(&tenant, "buttons", input, now()).await.unwrap();
        serde_json::to_value(&reply).unwrap()
    };
    let first_chip = |reply: &serde_json::Value| {
        reply["messages"].as_array().unwrap().last().unwrap()["quick_replies"][0]["payload"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let menu = turn(Input::Text("đặt lịch với anh An".into())).await;
    assert_eq!(menu["intent"], "other", "{menu:#}");
    let consultant = turn(Input::QuickReply("INTENT:book".into())).await;
    assert_eq!(consultant["awaiting"], "consultant", "{consultant:#}");
    let service = turn(Input::QuickReply("CONSULTANT:1".into())).await;
    assert_eq!(service["awaiting"], "service", "{service:#}");
    let slots = turn(Input::QuickReply("SERVICE:1".into())).await;
    assert_eq!(slots["awaiting"], "slot", "{slots:#}");
    let slot = first_chip(&slots);
    let email = turn(Input::QuickReply(slot.clone())).await;
    assert_eq!(email["awaiting"], "email", "{email:#}");
    let otp = turn(Input::Text("huong.nguyen@example.com".into())).await;
    assert_eq!(otp["awaiting"], "otp", "{otp:#}");
    let code = crate::script::last_code(outbox.path());
    let confirm = turn(Input::Text(code)).await;
    assert_eq!(confirm["awaiting"], "confirm", "{confirm:#}");
    let done = turn(Input::QuickReply("YES".into())).await;
    assert_eq!(done["awaiting"], serde_json::Value::Null, "{done:#}");
    let starts = slot
        .rsplit_once("SLOT:1:")
        .map(|(_, at)| at.to_string())
        .unwrap_or(slot.clone());
    let starts = DateTime::parse_from_rfc3339(&starts).unwrap();
    let booked: i64 = database
        .owner()
        .await
        .query_one(
            "select count(*) from appointments where customer_id = 1 and consultant_id = 1 and service_id = 1 and starts_at = $1",
            &[&starts],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(booked, 1, "booked through the buttons alone");
}
