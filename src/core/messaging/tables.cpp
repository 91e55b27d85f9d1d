// Outbox and inbox SQL.
#include "core/messaging/tables.hpp"

namespace flashtix::core::messaging {

Tables::Tables(std::string schema) : schema_(std::move(schema)) {
  const std::string& s = schema_;
  auto add = [this](std::string name, std::string sql) {
    names_.push_back(std::move(name));
    sql_.push_back(std::move(sql));
  };
  names_.reserve(8);
  sql_.reserve(8);
  add("outbox_insert", "INSERT INTO " + s + ".outbox (type, correlation_id, payload) VALUES ($1::text, $2::text, $3::jsonb)");
  add("inbox_insert", "INSERT INTO " + s + ".inbox (message_id, type) VALUES ($1::uuid, $2::text) "
                      "ON CONFLICT (message_id) DO NOTHING RETURNING message_id");
  add("inbox_contains", "SELECT 1 FROM " + s + ".inbox WHERE message_id = $1::uuid");
  // SKIP LOCKED: a second relay (another instance) takes the next rows instead of waiting for these.
  add("outbox_unpublished", "SELECT seq, message_id, type, correlation_id, payload::text AS payload, traceparent, "
                            "       (extract(epoch FROM occurred_at) * 1000)::bigint AS occurred_at_ms "
                            "FROM " + s + ".outbox WHERE published_at IS NULL "
                            "ORDER BY seq LIMIT $1::integer FOR UPDATE SKIP LOCKED");
  add("outbox_mark_published", "UPDATE " + s + ".outbox SET published_at = now() WHERE seq = ANY($1::bigint[])");
  // Published rows stay a day for inspection, then go, $1 at a time, oldest first (core/retention).
  add("outbox_prune", "DELETE FROM " + s + ".outbox WHERE seq IN (SELECT seq FROM " + s + ".outbox "
                      "WHERE published_at < now() - interval '1 day' ORDER BY seq LIMIT $1::integer)");
  // A message is redelivered within minutes (a lost ack or confirm); its inbox row stays a week.
  add("inbox_prune", "DELETE FROM " + s + ".inbox WHERE message_id IN (SELECT message_id FROM " + s + ".inbox "
                     "WHERE received_at < now() - interval '7 days' ORDER BY received_at LIMIT $1::integer)");
  // The relay's view of its backlog: how many rows wait (counted up to a bound) and how old the oldest is.
  add("outbox_backlog", "SELECT count(*) AS depth, "
                        "       coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::double precision AS lag "
                        "FROM (SELECT occurred_at FROM " + s + ".outbox WHERE published_at IS NULL "
                        "      ORDER BY seq LIMIT " + std::to_string(kMaxBacklogCounted) + ") waiting");
  insert_outbox_ = {names_[0], sql_[0]};
  insert_inbox_ = {names_[1], sql_[1]};
  inbox_contains_ = {names_[2], sql_[2]};
  select_unpublished_ = {names_[3], sql_[3]};
  mark_published_ = {names_[4], sql_[4]};
  prune_published_ = {names_[5], sql_[5]};
  prune_inbox_ = {names_[6], sql_[6]};
  outbox_backlog_ = {names_[7], sql_[7]};
}

}  // namespace flashtix::core::messaging
