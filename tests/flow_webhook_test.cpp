// End-to-end: webhook deliveries are signed as Standard Webhooks says and verified by the receiver, which
// refuses a forged, tampered or stale one; https:// receivers get them only over a certificate that verifies.
#include <algorithm>
#include <cstdlib>
#include <set>

#include "flow_harness.hpp"
#include "support/credentials.hpp"
#include "support/posix.hpp"
#include "support/standard_webhooks.hpp"
#include "support/test_ca.hpp"

namespace flashtix::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// The notifications of `order_id` as `service` lists them.
json::array notices_from(const ServiceProcess& service, const std::string& order_id) {
  const HttpResponse response = http_request(service.port(), "GET", "/notifications?order_id=" + order_id);
  if (response.status != 200) throw std::runtime_error("GET /notifications answered " + response.describe());
  return response.json().at("items").as_array();
}

// A row whose attempt was under way when its instance stopped stays claimed for the lease (the POST's
// deadline, 10 s, and 15 s more) before another instance tries it.
constexpr auto kAbandonedClaim = 25s;

// Waits until `order_id`'s one notification, as `service` shows it, satisfies `done`; that notification.
template <class Condition>
json::object notice_when(const ServiceProcess& service, const std::string& order_id, Condition done) {
  json::object notice;
  const bool reached = eventually(kAbandonedClaim + 10s, [&] {
    const json::array items = notices_from(service, order_id);
    if (items.size() != 1) return false;
    notice = items.at(0).as_object();
    return done(notice);
  });
  EXPECT_TRUE(reached) << json::serialize(notice);
  return notice;
}

bool is_delivered(const json::object& notice) { return notice.at("status").as_string() == "delivered"; }
// Three attempts over and their outcomes recorded: `attempts` also counts the one under way.
bool tried_three_times(const json::object& notice) { return notice.at("attempts").as_int64() >= 4; }

std::string last_error(const json::object& notice) {
  const json::value& error = notice.at("last_error");
  return error.is_string() ? std::string(error.as_string()) : "";
}

// The shared notifications instance stopped for one test, so that only the test's own instance records and
// delivers; started again afterwards, when it delivers what is left to the shared receiver.
class SharedNotificationsStopped {
 public:
  SharedNotificationsStopped() { EXPECT_EQ(notifications().stop(), 0); }
  ~SharedNotificationsStopped() {
    try {
      notifications().start();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the shared notifications did not start again: " << e.what();
    }
  }
  SharedNotificationsStopped(const SharedNotificationsStopped&) = delete;
  SharedNotificationsStopped& operator=(const SharedNotificationsStopped&) = delete;
};

// Waits until no notification is pending, so that an instance started next has nothing of an earlier test's
// to deliver.
void wait_until_nothing_is_pending() {
  EXPECT_TRUE(eventually(kAbandonedClaim + 10s, [] {
    return count("SELECT count(*) FROM notifications.notifications WHERE status = 'pending'") == 0;
  }));
}

// The shared receiver answers 503 while one lives.
class ReceiverDown {
 public:
  ReceiverDown() { webhook().refuse(true); }
  ~ReceiverDown() { webhook().refuse(false); }
  ReceiverDown(const ReceiverDown&) = delete;
  ReceiverDown& operator=(const ReceiverDown&) = delete;
};

std::string confirmed_order(std::int64_t event) {
  const std::string order = place_order(event, 1, "tok_ok");
  EXPECT_EQ(final_status(order, 10s), "CONFIRMED");
  return order;
}

// The accepted delivery of `order_id` at the shared receiver, once its notification is delivered.
ReceivedHook accepted_delivery(const std::string& order_id) {
  notice_when(notifications(), order_id, is_delivered);
  for (const ReceivedHook& hook : webhook().received_for(order_id)) {
    if (hook.accepted) return hook;
  }
  throw std::runtime_error("the receiver accepted nothing for order " + order_id);
}

TEST(SignedWebhooks, EveryDeliveryCarriesTheStandardHeadersAndASignatureTheReceiverVerifies) {
  const std::string order = confirmed_order(create_event(10));
  const ReceivedHook hook = accepted_delivery(order);
  const std::string notice_id = string_field(notices_from(notifications(), order).at(0), "notification_id");
  EXPECT_EQ(hook.webhook_id, notice_id);
  EXPECT_EQ(hook.notification_id, notice_id) << "the header receivers had before the signature stays";
  EXPECT_LE(std::abs(std::stoll(hook.webhook_timestamp) - unix_seconds_now()), 60);
  // One key, so one signature, and it is the one the test computes on its own from the secret.
  EXPECT_EQ(hook.webhook_signature,
            sign_delivery(test_tokens().webhook_secret, hook.webhook_id, hook.webhook_timestamp, hook.body));
  EXPECT_EQ(json::parse(hook.body).at("notification_id").as_string(), notice_id);
}

// The id stays the receiver's key to drop repeats; the time is each attempt's own, and so is its signature.
TEST(SignedWebhooks, ARetryKeepsItsIdAndIsSignedAgainWithItsOwnTime) {
  const std::int64_t event = create_event(10);
  std::string order;
  std::vector<ReceivedHook> refused;
  {
    ReceiverDown down;
    order = confirmed_order(event);
    // Retries come every 400 ms at most: within a few seconds two fall in different seconds.
    EXPECT_TRUE(eventually(15s, [&] {
      refused = webhook().received_for(order);
      std::set<std::string> times;
      for (const ReceivedHook& hook : refused) times.insert(hook.webhook_timestamp);
      return times.size() >= 2;
    }));
  }
  ASSERT_GE(refused.size(), 2u);
  for (const ReceivedHook& hook : refused) {
    EXPECT_EQ(hook.status, 503);
    EXPECT_EQ(hook.webhook_id, refused.front().webhook_id);
    EXPECT_EQ(hook.webhook_signature,
              sign_delivery(test_tokens().webhook_secret, hook.webhook_id, hook.webhook_timestamp, hook.body));
  }
  const ReceivedHook delivered = accepted_delivery(order);
  EXPECT_EQ(delivered.webhook_id, refused.front().webhook_id);
  EXPECT_GE(std::stoll(delivered.webhook_timestamp), std::stoll(refused.back().webhook_timestamp));
}

// A delivery taken off the wire and changed in any part, signed with another secret, or too old or too new,
// gets 401 from the receiver; the same delivery signed with the secret now gets 204.
TEST(SignedWebhooks, TheReceiverRefusesATamperedStaleOrUnsignedDelivery) {
  const std::string order = confirmed_order(create_event(10));
  const ReceivedHook real = accepted_delivery(order);
  const std::string& secret = test_tokens().webhook_secret;
  const auto post = [](const std::string& id, const std::string& timestamp, const std::string& signature,
                       const std::string& body) {
    Headers headers{{"Authorization", ""}};
    if (!id.empty()) headers.emplace_back("webhook-id", id);
    if (!timestamp.empty()) headers.emplace_back("webhook-timestamp", timestamp);
    if (!signature.empty()) headers.emplace_back("webhook-signature", signature);
    const HttpResponse response = http_request(webhook().port(), "POST", "/hooks/flashtix", body, headers);
    // The receiver's record of this very request (a delivery of the service's may have come in meanwhile).
    const std::vector<ReceivedHook> all = webhook().received();
    const auto same = std::find_if(all.rbegin(), all.rend(), [&](const ReceivedHook& hook) {
      return hook.webhook_id == id && hook.webhook_timestamp == timestamp && hook.webhook_signature == signature &&
             hook.body == body;
    });
    if (same == all.rend()) throw std::runtime_error("the receiver recorded no such request");
    EXPECT_EQ(same->status, response.status);
    return *same;
  };
  const std::string now = std::to_string(unix_seconds_now());
  const auto signed_now = [&](const std::string& body) { return sign_delivery(secret, real.webhook_id, now, body); };

  // Signed with the secret: accepted, alone or next to a signature with another key (a rotation).
  EXPECT_EQ(post(real.webhook_id, now, signed_now(real.body), real.body).status, 204);
  const std::string other_key = sign_delivery(random_webhook_secret(), real.webhook_id, now, real.body);
  EXPECT_EQ(post(real.webhook_id, now, other_key + " " + signed_now(real.body), real.body).status, 204);

  // The order's status, as a forger would like it.
  std::string tampered_body = real.body;
  const std::size_t status = tampered_body.find("CONFIRMED");
  ASSERT_NE(status, std::string::npos) << tampered_body;
  tampered_body.replace(status, 9, "CANCELLED");
  const std::string stale = std::to_string(unix_seconds_now() - kWebhookTimestampTolerance.count() - 5);
  const std::string early = std::to_string(unix_seconds_now() + kWebhookTimestampTolerance.count() + 5);
  const std::string bumped = std::to_string(std::stoll(real.webhook_timestamp) + 1);
  const std::string another_id = "00000000-0000-4000-8000-000000000000";

  const std::vector<std::pair<std::string, ReceivedHook>> refused{
      {"the body changed", post(real.webhook_id, real.webhook_timestamp, real.webhook_signature, tampered_body)},
      {"another id", post(another_id, real.webhook_timestamp, real.webhook_signature, real.body)},
      {"another time", post(real.webhook_id, bumped, real.webhook_signature, real.body)},
      {"another secret", post(real.webhook_id, now, other_key, real.body)},
      {"too old", post(real.webhook_id, stale, sign_delivery(secret, real.webhook_id, stale, real.body), real.body)},
      {"too new", post(real.webhook_id, early, sign_delivery(secret, real.webhook_id, early, real.body), real.body)},
      {"not signed", post(real.webhook_id, now, "", real.body)},
      {"no id", post("", now, signed_now(real.body), real.body)},
      {"no time", post(real.webhook_id, "", signed_now(real.body), real.body)},
      {"an empty signature", post(real.webhook_id, now, "v1,", real.body)},
      {"another scheme", post(real.webhook_id, now, "v1a," + signed_now(real.body).substr(3), real.body)},
  };
  for (const auto& [why, hook] : refused) {
    EXPECT_EQ(hook.status, 401) << why;
    EXPECT_FALSE(hook.refusal.empty()) << why;
  }
  EXPECT_NE(refused.at(4).second.refusal.find("5 minutes"), std::string::npos) << refused.at(4).second.refusal;
  EXPECT_NE(refused.at(0).second.refusal.find("no v1 signature matches"), std::string::npos);
}

TEST(SignedWebhooks, NotificationsWithTheWrongSecretNeverGetADeliveryAccepted) {
  const std::int64_t event = create_event(10);
  std::string order;
  {
    SharedNotificationsStopped stopped;
    const std::string wrong_secret = write_secret_file("webhook-secret", random_webhook_secret());
    auto wrong = start_notifications({{"FLASHTIX_WEBHOOK_SECRET_FILE", wrong_secret}});
    order = confirmed_order(event);
    const json::object notice = notice_when(*wrong, order, tried_three_times);
    EXPECT_EQ(notice.at("status").as_string(), "pending");
    EXPECT_NE(last_error(notice).find("401"), std::string::npos) << last_error(notice);
    const std::vector<ReceivedHook> hooks = webhook().received_for(order);
    EXPECT_GE(hooks.size(), 3u);
    for (const ReceivedHook& hook : hooks) {
      EXPECT_EQ(hook.status, 401);
      EXPECT_EQ(hook.refusal, "no v1 signature matches");
    }
    EXPECT_TRUE(webhook().accepted_for(order).empty());
    EXPECT_EQ(wrong->stop(), 0);
  }
  // The shared instance, with the right secret, delivers it once it is back.
  accepted_delivery(order);
  EXPECT_EQ(webhook().accepted_for(order).size(), 1u);
}

// Secure by default: a webhook without a secret, a secret that is not one, a URL with a credential in it,
// a CA file that cannot be read: notifications says why and does not start, and never shows the secret.
TEST(SignedWebhooks, NotificationsRefusesToStartWithoutAGoodSecretOrWithABadWebhookSetting) {
  const std::string dir = make_temp_dir("flashtix-refused-");
  const std::string not_a_secret = write_secret_file("webhook-secret", "whsec_hunter2hunter2hunter2!");
  const std::string good = test_tokens().webhook_secret_file;
  const std::string url = webhook().url();
  const std::string https_url = "https://localhost:" + std::to_string(webhook().port()) + "/hooks/flashtix";
  struct Case {
    std::string why;
    EnvVars env;
    std::string says;
  };
  const std::vector<Case> cases{
      {"no secret file", {{"FLASHTIX_WEBHOOK_URL", url}}, "--webhook-secret-file"},
      {"a file without a whsec_ secret",
       {{"FLASHTIX_WEBHOOK_URL", url}, {"FLASHTIX_WEBHOOK_SECRET_FILE", not_a_secret}},
       not_a_secret + ", line 1"},
      {"a missing secret file",
       {{"FLASHTIX_WEBHOOK_URL", url}, {"FLASHTIX_WEBHOOK_SECRET_FILE", dir + "/missing"}},
       "cannot read the webhook secret file"},
      {"user info in the URL",
       {{"FLASHTIX_WEBHOOK_URL", "http://user:hunter2@127.0.0.1:9/hooks"}, {"FLASHTIX_WEBHOOK_SECRET_FILE", good}},
       "user info"},
      {"a CA file that does not exist",
       {{"FLASHTIX_WEBHOOK_URL", https_url},
        {"FLASHTIX_WEBHOOK_SECRET_FILE", good},
        {"FLASHTIX_WEBHOOK_CA_FILE", dir + "/missing.pem"}},
       "cannot load CA certificates"},
      {"a CA file that is not PEM",
       {{"FLASHTIX_WEBHOOK_URL", https_url},
        {"FLASHTIX_WEBHOOK_SECRET_FILE", good},
        {"FLASHTIX_WEBHOOK_CA_FILE", good}},
       "cannot load CA certificates"},
      {"a CA file for an http:// URL",
       {{"FLASHTIX_WEBHOOK_URL", url},
        {"FLASHTIX_WEBHOOK_SECRET_FILE", good},
        {"FLASHTIX_WEBHOOK_CA_FILE", "/etc/ssl/certs/ca-certificates.crt"}},
       "--webhook-ca-file is for an https://"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& one = cases[i];
    SpawnOptions options;
    options.argv = {service_bin_dir() + "/flashtix-notifications", "--port", std::to_string(free_tcp_port())};
    options.env = {{"FLASHTIX_DATABASE_URL", pg().database_url()},
                   {"FLASHTIX_AMQP_URL", broker().url("notifications")}};
    for (const auto& entry : one.env) options.env.push_back(entry);
    options.drop_env_prefixes = {"FLASHTIX_"};
    options.log_path = dir + "/case-" + std::to_string(i) + ".log";
    EXPECT_EQ(run_to_completion(options, 30s), 2) << one.why << ": " << file_tail(options.log_path);
    const std::string log = file_tail(options.log_path);
    EXPECT_NE(log.find(one.says), std::string::npos) << one.why << ": " << log;
    EXPECT_EQ(log.find("hunter2"), std::string::npos) << one.why << ": " << log;
    EXPECT_EQ(log.find(test_tokens().webhook_secret.substr(6)), std::string::npos) << one.why << ": " << log;
  }
  remove_tree(dir);
}

// Notifications' log at debug, over deliveries that fail and succeed, shows neither the secret, nor a buyer's
// e-mail, nor the query of the webhook URL (where a receiver may keep a credential).
TEST(SignedWebhooks, TheLogShowsNoSecretNoEmailAndNoCredentialOfTheUrl) {
  const std::int64_t event = create_event(10);
  std::string log;
  {
    SharedNotificationsStopped stopped;
    auto own = start_notifications(
        {{"FLASHTIX_LOG_LEVEL", "debug"}, {"FLASHTIX_WEBHOOK_URL", webhook().url() + "?token=hunter2"}});
    std::string order;
    {
      ReceiverDown down;
      order = confirmed_order(event);
      notice_when(*own, order, tried_three_times);
    }
    notice_when(*own, order, is_delivered);
    EXPECT_EQ(own->stop(), 0);
    log = file_tail(own->log_path(), 1'000'000);
  }
  EXPECT_NE(log.find("delivering notifications to http://127.0.0.1"), std::string::npos) << log;
  EXPECT_NE(log.find("?..."), std::string::npos) << log;
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
  EXPECT_EQ(log.find("buyer@example.com"), std::string::npos) << log;
  EXPECT_EQ(log.find(test_tokens().webhook_secret.substr(6)), std::string::npos) << log;
}

// Over TLS, with the receiver's certificate issued by a CA of the test's own: delivered when notifications
// trusts that CA (--webhook-ca-file) and the name matches, on one kept-alive connection.
TEST(HttpsWebhooks, AreDeliveredToAReceiverWhoseCertificateChainsToTheGivenCa) {
  TestCa ca;
  WebhookReceiver receiver(WebhookReceiver::Options{.secret = "", .tls = ca.issue({"localhost"}, {"127.0.0.1"})});
  const std::int64_t event = create_event(10);
  // Only this test's notifications go to the receiver, so that its connections can be counted.
  wait_until_nothing_is_pending();
  SharedNotificationsStopped stopped;
  auto own = start_notifications(
      {{"FLASHTIX_WEBHOOK_URL", receiver.url("localhost")}, {"FLASHTIX_WEBHOOK_CA_FILE", ca.certificate_file()}});
  for (int i = 0; i < 2; ++i) {
    const std::string order = confirmed_order(event);
    notice_when(*own, order, is_delivered);
    const std::vector<ReceivedHook> hooks = receiver.received_for(order);
    ASSERT_EQ(hooks.size(), 1u);
    EXPECT_TRUE(hooks.at(0).accepted) << hooks.at(0).refusal;
    EXPECT_EQ(hooks.at(0).server_name, "localhost") << "the name is sent (SNI)";
  }
  EXPECT_EQ(receiver.tls_handshakes(), 1) << "the second POST goes on the kept-alive connection";
  EXPECT_EQ(receiver.tls_handshake_failures(), 0);
  EXPECT_EQ(own->stop(), 0);
}

// Not trusted by the system's store: every attempt fails at the handshake and is retried; the receiver never
// sees a request.
TEST(HttpsWebhooks, ACertificateOfAnUntrustedCaFailsEveryAttempt) {
  TestCa ca;
  WebhookReceiver receiver(WebhookReceiver::Options{.secret = "", .tls = ca.issue({"localhost"}, {"127.0.0.1"})});
  const std::int64_t event = create_event(10);
  SharedNotificationsStopped stopped;
  auto own = start_notifications({{"FLASHTIX_WEBHOOK_URL", receiver.url("localhost")}});
  const std::string order = confirmed_order(event);
  const json::object notice = notice_when(*own, order, tried_three_times);
  EXPECT_EQ(notice.at("status").as_string(), "pending");
  EXPECT_NE(last_error(notice).find("certificate did not verify"), std::string::npos) << last_error(notice);
  EXPECT_TRUE(receiver.received().empty());
  // The receiver's side of a refused handshake may end a moment after the client's.
  EXPECT_TRUE(eventually(5s, [&] { return receiver.tls_handshake_failures() >= 3; }))
      << receiver.tls_handshake_failures();
  EXPECT_EQ(receiver.tls_handshakes(), 0);
  EXPECT_EQ(own->stop(), 0);
}

// Trusted CA, but a certificate for another name: refused as well.
TEST(HttpsWebhooks, ACertificateForAnotherNameFailsEveryAttempt) {
  TestCa ca;
  WebhookReceiver receiver(WebhookReceiver::Options{.secret = "", .tls = ca.issue({"other.example"}, {"127.0.0.2"})});
  const std::int64_t event = create_event(10);
  SharedNotificationsStopped stopped;
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    SCOPED_TRACE(host);
    auto own = start_notifications(
        {{"FLASHTIX_WEBHOOK_URL", receiver.url(host)}, {"FLASHTIX_WEBHOOK_CA_FILE", ca.certificate_file()}});
    const std::string order = confirmed_order(event);
    const json::object notice = notice_when(*own, order, tried_three_times);
    EXPECT_EQ(notice.at("status").as_string(), "pending");
    EXPECT_NE(last_error(notice).find("hostname mismatch"), std::string::npos) << last_error(notice);
    EXPECT_EQ(own->stop(), 0);
  }
  EXPECT_TRUE(receiver.received().empty());
  EXPECT_EQ(receiver.tls_handshakes(), 0);
}

}  // namespace
}  // namespace flashtix::test
