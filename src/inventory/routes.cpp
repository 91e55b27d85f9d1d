// Inventory handlers: parse, run the store, and map each outcome to its HTTP answer here.
#include "inventory/routes.hpp"

#include <limits>
#include <string>
#include <unordered_map>

#include "core/auth.hpp"
#include "core/http_server.hpp"
#include "core/json_fields.hpp"
#include "core/metrics.hpp"
#include "core/money.hpp"
#include "core/openapi.hpp"
#include "core/secure_random.hpp"
#include "core/service_host.hpp"
#include "core/time.hpp"
#include "inventory/event_desk.hpp"
#include "inventory/reservation.hpp"
#include "inventory/store.hpp"
#include "inventory/stream.hpp"

namespace flashtix::inventory {

using namespace core::handler_names;

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

Problem event_not_found(std::int64_t id) {
  return Problem{status::not_found, "event_not_found", "Event not found",
                 "there is no event " + std::to_string(id), {}, {}};
}

Problem ticket_type_not_found(std::int64_t event_id, std::int64_t type_id) {
  return Problem{status::not_found, "ticket_type_not_found", "Ticket type not found",
                 "event " + std::to_string(event_id) + " has no ticket type " + std::to_string(type_id),
                 {{"ticket_type_id", type_id}}, {}};
}

Problem reservation_not_found() {
  return Problem{status::not_found, "reservation_not_found", "Reservation not found",
                 "there is no reservation with that id or key", {}, {}};
}

// A path id must be a positive integer; anything else is a bad request, not a missing resource.
core::Result<std::int64_t> path_id(const Request& request) {
  if (auto id = core::parse_int(request.path_param("id"), 1, kMaxId)) return *id;
  return core::invalid_request("the id in the path must be a positive integer");
}

// When the caller stops waiting, from kRequestTimeoutHeader; nothing when it sent none.
using CallerDeadline = std::optional<std::chrono::steady_clock::time_point>;
core::Result<CallerDeadline> caller_deadline(const Request& request) {
  constexpr std::int64_t kDayMs = 24 * 3600 * 1000;
  const std::string_view value = request.header(core::kRequestTimeoutHeader);
  if (value.empty()) return CallerDeadline{};
  const auto ms = core::parse_int(value, 0, kDayMs);
  if (!ms) {
    return core::invalid_request("the " + std::string(core::kRequestTimeoutHeader) +
                                 " header must be a whole number of milliseconds from 0 to " + std::to_string(kDayMs));
  }
  return CallerDeadline{std::chrono::steady_clock::now() + std::chrono::milliseconds(*ms)};
}

awaitable<Response> create_event(Inventory* inventory, Request request) {
  auto parsed = parse_create_event(request.body(), inventory->limits);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  Event event = co_await store::create_event(inventory->db, std::get<CreateEvent>(std::move(parsed)));
  Response response = json_response(status::created, to_json(event));
  response.headers.emplace_back("Location", "/events/" + std::to_string(event.id));
  co_return response;
}

// A type as made or changed, with what it can sell against its event's counts as they stand now.
awaitable<Response> ticket_type_response(Inventory* inventory, status code, TicketType type) {
  const auto event = co_await store::find_event(inventory->db, type.event_id);
  co_return json_response(code, to_json(type, event ? event->available_tickets : 0,
                                        event ? std::string_view(event->currency) : "EUR"));
}

awaitable<Response> add_ticket_type(Inventory* inventory, Request request) {
  auto id = path_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  const std::int64_t event_id = std::get<std::int64_t>(id);
  auto parsed = parse_new_ticket_type(request.body(), inventory->limits);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  NewTicketType type = std::get<NewTicketType>(std::move(parsed));
  const std::string name = type.name;
  const store::TypeAdded added = co_await store::add_ticket_type(inventory->db, event_id, std::move(type));
  if (std::holds_alternative<EventNotFound>(added)) co_return problem_response(event_not_found(event_id));
  if (std::holds_alternative<store::TypeNotAdded>(added)) {
    co_return problem_response(Problem{status::conflict, "ticket_type_not_added", "Ticket type not added",
                                       "event " + std::to_string(event_id) + " has a type named '" + name +
                                           "' already, or " + std::to_string(kMaxTicketTypes) + " types",
                                       {}, {}});
  }
  Response response = co_await ticket_type_response(inventory, status::created, std::get<TicketType>(added));
  response.headers.emplace_back("Location", "/events/" + std::to_string(event_id));
  co_return response;
}

// A change is seen by the event's next batch (a batch reads its types under the event's row lock, which the
// change holds too), and by the desk's memory of the type's window and stock within --sold-out-recheck-ms;
// the holds made before keep their prices.
awaitable<Response> change_ticket_type(Inventory* inventory, Request request) {
  auto id = path_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  const std::int64_t event_id = std::get<std::int64_t>(id);
  const auto type_id = core::parse_int(request.path_param("type_id"), 1, kMaxId);
  if (!type_id) co_return problem_response(core::invalid_request("the type id in the path must be a positive integer"));
  auto parsed = parse_change_ticket_type(request.body(), inventory->limits);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  const store::TypeChanged changed = co_await store::change_ticket_type(inventory->db, event_id, *type_id,
                                                                        std::get<ChangeTicketType>(std::move(parsed)));
  if (std::holds_alternative<EventNotFound>(changed)) co_return problem_response(event_not_found(event_id));
  if (std::holds_alternative<TicketTypeNotFound>(changed)) co_return problem_response(ticket_type_not_found(event_id, *type_id));
  if (std::holds_alternative<store::QuotaBelowTaken>(changed)) {
    co_return problem_response(Problem{status::conflict, "quota_below_taken", "Quota below the tickets taken",
                                       "the type holds or sold more tickets than that quota; nothing changed", {}, {}});
  }
  if (std::holds_alternative<store::QuotaNotSettable>(changed)) {
    co_return problem_response(Problem{status::conflict, "quota_not_settable", "Quota not settable now",
                                       "a type without a quota gets one only while its event has no tickets held or "
                                       "sold; give types their quotas before the sale",
                                       {}, {}});
  }
  if (std::holds_alternative<store::TypeNameTaken>(changed)) {
    co_return problem_response(Problem{status::conflict, "ticket_type_name_taken", "Name taken",
                                       "another type of event " + std::to_string(event_id) + " has that name", {}, {}});
  }
  if (std::holds_alternative<store::TypeChangeOutOfOrder>(changed)) {
    co_return problem_response(core::invalid_request(
        "the type as changed would have 'max_per_order' below 'min_per_order', or a window that ends before it starts"));
  }
  co_return co_await ticket_type_response(inventory, status::ok, std::get<TicketType>(changed));
}

// A changed window is seen by the reserves of this and every other process within --sold-out-recheck-ms
// (their memory of it), and by every batch after this commit.
awaitable<Response> change_sales_window(Inventory* inventory, Request request) {
  auto id = path_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  const std::int64_t event_id = std::get<std::int64_t>(id);
  auto parsed = parse_change_sales_window(request.body());
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  const store::WindowChange changed =
      co_await store::change_sales_window(inventory->db, event_id, std::get<ChangeSalesWindow>(std::move(parsed)));
  if (std::holds_alternative<EventNotFound>(changed)) co_return problem_response(event_not_found(event_id));
  if (std::holds_alternative<store::SalesWindowOutOfOrder>(changed)) co_return problem_response(sales_window_out_of_order());
  co_return json_response(status::ok, to_json(std::get<Event>(changed)));
}

awaitable<Response> list_events(Inventory* inventory, Request request) {
  auto page = core::parse_page(request);
  if (auto* problem = std::get_if<Problem>(&page)) co_return problem_response(*problem);
  const auto [limit, after_id] = std::get<core::PageRequest>(page);
  // One extra row tells whether another page exists without a second query.
  std::vector<Event> events = co_await store::list_events(inventory->db, after_id, limit + 1);
  std::optional<std::int64_t> next_cursor;
  if (static_cast<std::int64_t>(events.size()) > limit) {
    events.resize(static_cast<std::size_t>(limit));
    next_cursor = events.back().id;
  }
  json::array items;
  for (const Event& event : events) items.push_back(to_json(event));
  co_return core::page_response(std::move(items), next_cursor);
}

// The live sale page, for a browser.
awaitable<Response> sale_page_route(Inventory* inventory, Request request) {
  static_cast<void>(inventory);
  static_cast<void>(request);
  Response response{status::ok, std::string(sale_page()), "text/html; charset=utf-8", {}, {}};
  co_return response;
}

awaitable<Response> stream_event(Inventory* inventory, Request request) {
  auto id = path_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  auto event = co_await store::find_event(inventory->db, std::get<std::int64_t>(id));
  if (!event) co_return problem_response(event_not_found(std::get<std::int64_t>(id)));
  co_return event_stream(inventory->snapshots, inventory->streams, inventory->limits.stream, std::move(*event),
                         request.client.empty() ? request.client_address : request.client);
}

awaitable<Response> get_event(Inventory* inventory, Request request) {
  auto id = path_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  auto event = co_await store::find_event(inventory->db, std::get<std::int64_t>(id));
  if (!event) co_return problem_response(event_not_found(std::get<std::int64_t>(id)));
  co_return json_response(status::ok, to_json(*event));
}

// Why an event does not sell now, by this machine's clock (the refusal itself was the database's).
std::string not_on_sale_detail(std::int64_t event_id, const SalesWindow& sales) {
  const std::string event = "event " + std::to_string(event_id);
  if (sales.end_ms && core::unix_ms_now() >= *sales.end_ms) {
    return event + "'s sale ended at " + core::rfc3339_from_unix_ms(*sales.end_ms);
  }
  if (sales.start_ms) return event + " goes on sale at " + core::rfc3339_from_unix_ms(*sales.start_ms);
  return event + " is not on sale";
}

// What a reserve answers, alone or as one item of a batch: its status and its body.
struct ReserveAnswer {
  const ReserveCommand& command;

  json::object body;
  status code = status::ok;
  bool problem = false;
  bool replayed = false;
  std::vector<std::pair<std::string, std::string>> headers;  // a refusal's, such as Retry-After

  // 200 both times, as the original service answered and its clients expect; a retry is told so.
  void operator()(const Reserved& reserved) {
    body = to_json(reserved.reservation);
    body["remaining_tickets"] = reserved.remaining_tickets;
    code = status::ok;
    replayed = !reserved.created;
  }
  void operator()(const SoldOut& sold_out) {
    json::object extra{{"available_tickets", sold_out.available_tickets}};
    std::string detail = "only " + std::to_string(sold_out.available_tickets) + " tickets are available, " +
                         std::to_string(command.quantity) + " were asked for";
    if (sold_out.ticket_type_id) {
      extra["ticket_type_id"] = *sold_out.ticket_type_id;
      detail = "only " + std::to_string(sold_out.available_tickets) + " tickets of type " +
               std::to_string(*sold_out.ticket_type_id) + " are left; the items ask for more";
    }
    refuse(Problem{status::conflict, "sold_out", "Sold out", std::move(detail), std::move(extra), {}});
  }
  void operator()(const TicketTypeNotFound& missing) {
    refuse(ticket_type_not_found(command.event_id, missing.ticket_type_id));
  }
  void operator()(const QuantityOutOfRange& range) {
    const std::string most = range.type.max_per_order ? std::to_string(*range.type.max_per_order) : "the hold's limit";
    refuse(Problem{status::bad_request, "quantity_out_of_range", "Quantity out of range",
                   "one order takes " + std::to_string(range.type.min_per_order) + " to " + most + " tickets of type '" +
                       range.type.name + "', not " + std::to_string(range.quantity),
                   {{"ticket_type_id", range.type.id},
                    {"min_per_order", range.type.min_per_order},
                    {"max_per_order", range.type.max_per_order ? json::value(*range.type.max_per_order) : json::value(nullptr)}},
                   {}});
  }
  void operator()(const AmountOutOfRange& range) {
    refuse(Problem{status::bad_request, "amount_out_of_range", "Amount out of range",
                   "these tickets cost " + std::to_string(range.amount_minor) + " minor units; one order is charged " +
                       std::to_string(core::kMaxAmountMinor) + " at most",
                   {{"amount_minor", range.amount_minor}, {"max_amount_minor", core::kMaxAmountMinor}},
                   {}});
  }
  void operator()(const EventNotFound&) { refuse(event_not_found(command.event_id)); }
  void operator()(const KeyReused& reused) {
    refuse(Problem{status::unprocessable_entity, "idempotency_mismatch", "Key reused with another request",
                   "reservation_key '" + reused.existing.key + "' already holds " +
                       std::to_string(reused.existing.quantity) + " tickets of event " +
                       std::to_string(reused.existing.event_id),
                   {}, {}});
  }
  void operator()(const TooLate&) {
    refuse(Problem{status::service_unavailable, "deadline_passed", "Caller stopped waiting",
                   "the event's stock could not be had within the " + std::string(core::kRequestTimeoutHeader) +
                       " the request gave; nothing was held",
                   {}, {{"Retry-After", "1"}}});
  }
  void operator()(const BuyerRequired& required) {
    refuse(Problem{status::bad_request, "buyer_required", "Buyer required",
                   "event " + std::to_string(command.event_id) + " sells at most " +
                       std::to_string(required.max_tickets_per_buyer) +
                       " tickets per buyer: name the buyer with 'buyer' (an e-mail address)",
                   {{"max_tickets_per_buyer", required.max_tickets_per_buyer}}, {}});
  }
  void operator()(const BuyerLimitReached& reached) {
    refuse(Problem{status::conflict, "buyer_limit_reached", "Buyer limit reached",
                   "this buyer holds or bought " + std::to_string(reached.buyer_tickets) + " tickets of event " +
                       std::to_string(command.event_id) + "; " + std::to_string(command.quantity) +
                       " more would pass its limit of " + std::to_string(reached.max_tickets_per_buyer),
                   {{"max_tickets_per_buyer", reached.max_tickets_per_buyer}, {"buyer_tickets", reached.buyer_tickets}},
                   {}});
  }
  void operator()(const NotOnSale& closed) {
    json::object extra = to_json(closed.sales);
    std::string detail = not_on_sale_detail(command.event_id, closed.sales);
    if (closed.ticket_type_id) {
      extra["ticket_type_id"] = *closed.ticket_type_id;
      detail = "ticket type " + std::to_string(*closed.ticket_type_id) + " of " + detail;
    }
    refuse(Problem{status::conflict, "not_on_sale", "Not on sale", std::move(detail), std::move(extra), {}});
  }
  void refuse(const Problem& refusal) {
    body = core::problem_json(refusal);
    code = refusal.status;
    problem = true;
    headers = refusal.headers;
  }
};

// Reserves refused, by the problem's code (sold_out, overloaded, deadline_passed, buyer_limit_reached, ...).
prometheus::Counter& refusal_counter(std::string_view code) {
  return core::metrics::counter("flashtix_reserves_refused_total", "Reserves answered with a refusal, by its code",
                                {{"reason", std::string(code)}});
}

void count_refusal(std::string_view code) {
  // A few codes, each looked up once: the family's own lookup takes a lock.
  thread_local std::unordered_map<std::string, prometheus::Counter*> counters;
  auto found = counters.find(std::string(code));
  if (found == counters.end()) found = counters.emplace(std::string(code), &refusal_counter(code)).first;
  found->second->Increment();
}

void count_refusal(const json::object& problem) {
  const json::value* code = problem.if_contains("code");
  count_refusal(code && code->is_string() ? std::string_view(code->get_string()) : std::string_view("unknown"));
}

// The desk's answer; a reserve refused as overloaded (a full queue, too long a wait) is counted, then
// answered 503 as any fault is.
awaitable<ReserveOutcome> reserve_counted(Inventory* inventory, ReserveCommand command) {
  try {
    co_return co_await inventory->desk->reserve(std::move(command));
  } catch (const core::Overloaded&) {
    count_refusal("overloaded");
    throw;
  }
}

ReserveAnswer answer_to(const ReserveCommand& command, const ReserveOutcome& outcome) {
  ReserveAnswer answer{command, {}, status::ok, false, false, {}};
  std::visit(answer, outcome);
  return answer;
}

awaitable<Response> reserve(Inventory* inventory, Request request) {
  auto parsed = parse_reserve(request.body(), inventory->limits);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  auto deadline = caller_deadline(request);
  if (auto* problem = std::get_if<Problem>(&deadline)) co_return problem_response(*problem);
  ReserveCommand command = std::get<ReserveCommand>(std::move(parsed));
  command.commit_by = std::get<CallerDeadline>(deadline);
  // The maker's key to release this hold; only its digest is stored.
  const std::string secret = core::random_hex(32);
  command.secret_sha256 = core::sha256_hex(secret);
  const ReserveOutcome outcome = co_await reserve_counted(inventory, command);
  ReserveAnswer answer = answer_to(command, outcome);
  if (answer.problem) count_refusal(answer.body);
  // A replay answers the hold without it: the secret was answered once, to the request that made it.
  if (!answer.problem && !answer.replayed) answer.body["hold_secret"] = secret;
  Response response = json_response(answer.code, answer.body);
  if (answer.problem) response.content_type = "application/problem+json";
  response.headers = answer.headers;
  if (!answer.problem) {
    response.headers.emplace_back("Location", "/inventory/reservations/" + std::to_string(answer.body.at("reservation_id").as_int64()));
  }
  if (answer.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  co_return response;
}

// Many reserves in one call, each answered as POST /inventory/reserve would answer it alone:
// {"results": [{"status": 200, "body": {...}}, ...]}, in order. A fault fails only its own items.
awaitable<Response> reserve_batch(Inventory* inventory, Request request) {
  auto parsed = parse_reserve_batch(request.body(), inventory->limits);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  auto deadline = caller_deadline(request);
  if (auto* problem = std::get_if<Problem>(&deadline)) co_return problem_response(*problem);
  std::vector<ReserveCommand> commands = std::get<std::vector<ReserveCommand>>(std::move(parsed));
  for (ReserveCommand& command : commands) command.commit_by = std::get<CallerDeadline>(deadline);
  const std::vector<EventDesk::ReserveAttempt> attempts = co_await inventory->desk->reserve_many(commands);
  json::array results;
  results.reserve(attempts.size());
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    ReserveAnswer answer{commands[i], {}, status::ok, false, false, {}};
    if (const auto* outcome = std::get_if<ReserveOutcome>(&attempts[i])) {
      std::visit(answer, *outcome);
    } else {
      answer.refuse(core::failure_problem(std::get<std::exception_ptr>(attempts[i]), "POST /inventory/reserve-batch"));
    }
    if (answer.problem) count_refusal(answer.body);
    results.push_back(json::object{{"status", static_cast<int>(answer.code)}, {"body", std::move(answer.body)}});
  }
  co_return json_response(status::ok, json::object{{"results", std::move(results)}});
}

// A hold as the request names it, after a release or confirm of it. Only a HELD hold can still change,
// so only those go to their event's next batch; any other is answered as it stands.
awaitable<std::optional<HoldAfter>> settle_hold(Inventory* inventory, HoldRef ref, SettleKind kind) {
  std::optional<Reservation> hold = co_await store::find_hold(inventory->db, std::move(ref));
  if (!hold) co_return std::nullopt;
  if (hold->status != kHeld) co_return HoldAfter{std::move(*hold), false};
  const SettleRequest settle{kind, hold->id};
  co_return co_await inventory->desk->settle(hold->event_id, settle);
}

// The service role releases any hold; anyone else only a hold whose secret (hold_secret, answered by the
// reserve that made it) is sent as `Authorization: Bearer <hold_secret>`. Nothing when the caller may.
awaitable<std::optional<Problem>> refused_release(Inventory* inventory, core::Role caller,
                                                  std::optional<std::string> token, ReleaseCommand command) {
  if (caller >= core::Role::service) co_return std::nullopt;
  if (!token) {
    co_return core::unauthenticated("releasing a hold needs the service role or the hold's secret (hold_secret) as "
                                    "Authorization: Bearer <hold_secret>");
  }
  if (command.event_id) co_return core::unauthenticated("only the service role releases a hold ahead of its reserve");
  const std::optional<Reservation> hold = co_await store::find_hold(inventory->db, command.hold);
  // An unknown hold and a wrong secret look the same, so that a secret cannot be used to probe for holds.
  if (!hold || hold->secret_sha256.empty() || !core::token_matches(*token, hold->secret_sha256)) {
    co_return core::unauthenticated("the token is not this hold's secret");
  }
  co_return std::nullopt;
}

awaitable<Response> release(Inventory* inventory, Request request) {
  auto parsed = parse_release(request.body(), inventory->limits);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  const ReleaseCommand command = std::get<ReleaseCommand>(std::move(parsed));
  const auto token = core::bearer_token(request);
  std::optional<std::string> token_text = token ? std::optional<std::string>(std::string(*token)) : std::nullopt;
  std::optional<Problem> refused = co_await refused_release(inventory, request.caller, std::move(token_text), command);
  if (refused) co_return problem_response(*refused);
  auto after = co_await settle_hold(inventory, command.hold, SettleKind::release);
  if (!after && command.event_id) {
    // Given up on before its reserve committed: the tombstone makes that reserve hold nothing. If the
    // reserve committed meanwhile, its hold is released like any other.
    if (auto tombstone = co_await store::leave_tombstone(inventory->db, *command.hold.key, *command.event_id,
                                                         *command.quantity)) {
      after = HoldAfter{std::move(*tombstone), true};
    } else {
      after = co_await settle_hold(inventory, command.hold, SettleKind::release);
    }
  }
  if (!after) co_return problem_response(reservation_not_found());
  // Released, expired and voided holds have all given their tickets back: releasing again is a no-op.
  if (after->reservation.status == kConfirmed) {
    co_return problem_response(Problem{status::conflict, "hold_confirmed", "Hold already confirmed",
                                       "the tickets of this reservation are sold and cannot be released", {}, {}});
  }
  co_return json_response(status::ok, to_json(after->reservation));
}

awaitable<Response> confirm(Inventory* inventory, Request request) {
  auto parsed = parse_hold_ref(request.body());
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  auto after = co_await settle_hold(inventory, std::get<HoldRef>(std::move(parsed)), SettleKind::confirm);
  if (!after) co_return problem_response(reservation_not_found());
  if (after->reservation.status != kConfirmed) {
    json::object extra{{"reservation_status", after->reservation.status}};
    co_return problem_response(Problem{status::conflict, "hold_expired", "Hold no longer valid",
                                       "the reservation is " + after->reservation.status +
                                           " (or past its expiry) and cannot be confirmed",
                                       std::move(extra), {}});
  }
  co_return json_response(status::ok, to_json(after->reservation));
}

awaitable<Response> get_reservation(Inventory* inventory, Request request) {
  auto id = path_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  auto reservation = co_await store::find_reservation(inventory->db, std::get<std::int64_t>(id));
  if (!reservation) co_return problem_response(reservation_not_found());
  co_return json_response(status::ok, to_json(*reservation));
}

// The bounds of a reserve here, for the order service to check its own limits against at start.
awaitable<Response> get_limits(Inventory* inventory, Request request) {
  static_cast<void>(request);
  const Limits& limits = inventory->limits;
  const auto max_batch = static_cast<std::int64_t>(kMaxReserveBatch);
  co_return json_response(status::ok, json::object{{"max_quantity", limits.max_tickets_per_hold},
                                                   {"default_hold_seconds", limits.default_hold_seconds},
                                                   {"max_hold_seconds", limits.max_hold_seconds},
                                                   {"max_reservations_per_batch", max_batch}});
}

}  // namespace

core::Router make_router(Inventory* inventory) {
  // The refusals of a sale are counted from the start, at 0: a counter that first appears with a count
  // already on it loses that count from every rate over it (the sold-out rate of a sell-out's first burst).
  for (const std::string_view code : {"sold_out", "not_on_sale", "overloaded", "deadline_passed"}) refusal_counter(code);
  core::Router router;
  core::add_health_route(router);
  core::add_openapi_route(router, openapi_document());
  core::add_database_ready_route(router, inventory->db);
  using core::Role;
  router.post("/events", Role::admin, core::bind<create_event>(inventory));
  router.get("/events", core::bind<list_events>(inventory));
  router.get("/events/{id}", core::bind<get_event>(inventory));
  router.patch("/events/{id}", Role::admin, core::bind<change_sales_window>(inventory));
  router.post("/events/{id}/ticket_types", Role::admin, core::bind<add_ticket_type>(inventory));
  router.patch("/events/{id}/ticket_types/{type_id}", Role::admin, core::bind<change_ticket_type>(inventory));
  router.get("/events/{id}/stream", core::bind<stream_event>(inventory));
  router.get("/", core::bind<sale_page_route>(inventory));
  // Anyone may hold tickets (the original service's manual reserve); only the order service sells them,
  // so a hold cannot be sold without an order. A hold goes back by the service role, or by its maker with
  // the secret its reserve answered: never by guessing its id.
  router.post("/inventory/reserve", core::bind<reserve>(inventory));
  router.post("/inventory/reserve-batch", Role::service, core::bind<reserve_batch>(inventory));
  router.post("/inventory/release", core::bind<release>(inventory));
  router.post("/inventory/confirm", Role::service, core::bind<confirm>(inventory));
  router.get("/inventory/reservations/{id}", Role::service, core::bind<get_reservation>(inventory));
  router.get("/inventory/limits", Role::service, core::bind<get_limits>(inventory));
  return router;
}

}  // namespace flashtix::inventory
