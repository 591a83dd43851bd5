// Recording control: what a queue's policy allows for a connected call, the metadata of each
// recording as the edge reports it (the paused spans too), and retention.
#include "pg_rows.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

namespace pg {

std::vector<RecordingRecord> LoadRecordings(pqxx::work& tx, const std::string& call_id) {
  std::vector<RecordingRecord> out;
  for (const auto& r : tx.exec_params(
           "SELECT id, call_id, assignment_id, agent_id, queue, path, " + EpochMs("started_at") +
               ", " + EpochMs("ended_at") +
               ", COALESCE(bytes, 0), COALESCE(keep_until::text, ''), deleted_at IS NOT NULL,"
               " started_by FROM recordings WHERE call_id = $1 ORDER BY id",
           call_id)) {
    RecordingRecord rec;
    rec.id = r[0].as<std::int64_t>();
    rec.call_id = r[1].as<std::string>();
    rec.assignment_id = r[2].as<std::int64_t>();
    rec.agent_id = r[3].as<std::string>();
    rec.queue = r[4].as<std::string>();
    rec.path = r[5].as<std::string>();
    rec.started_at = Ms(r[6]);
    rec.ended_at = OptMs(r[7]);
    rec.bytes = r[8].as<std::uint64_t>();
    rec.keep_until = r[9].as<std::string>();
    rec.deleted = r[10].as<bool>();
    rec.started_by = r[11].as<std::string>();
    for (const auto& p :
         tx.exec_params("SELECT " + EpochMs("paused_at") + ", " + EpochMs("resumed_at") +
                            " FROM recording_pauses WHERE recording_id = $1"
                            " ORDER BY paused_at",
                        rec.id)) {
      rec.pauses.push_back({Ms(p[0]), OptMs(p[1])});
    }
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace pg

Result<RecordOrder> PgQueueRepository::record_order(const std::string& call_id,
                                                    RecordingAction action,
                                                    const std::string& requested_by) {
  return pool_.transact([&](pqxx::work& tx) -> Result<RecordOrder> {
    auto call = LoadCall(tx, call_id, false);
    if (!call) return NotFound("no call " + call_id);
    if (call->state != CallState::kConnected) {
      return FailedPrecondition("call " + call_id + " is not connected (" +
                                std::string(ToString(call->state)) + ")");
    }
    CC_ASSIGN_OR_RETURN(QueueConfig q, RequireQueue(tx, call->queue));
    if (q.recording.mode == RecordingMode::kNever) {
      return FailedPrecondition("queue " + q.name + " never records its calls");
    }
    RecordOrder o;
    o.call_id = call->id;
    o.edge_id = call->edge_id;
    o.action = action;
    o.retention_days = q.recording.retention_days;
    o.requested_by = requested_by;
    return o;
  });
}

Status PgQueueRepository::report_recording(const RecordingReport& r, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Status {
    if (r.event == RecordingAction::kStart) {
      auto a =
          tx.exec_params("SELECT agent_id, queue FROM assignments WHERE id = $1 AND call_id = $2",
                         r.assignment_id, r.call_id);
      if (a.empty()) {
        return NotFound("no agent leg " + std::to_string(r.assignment_id) + " of call " +
                        r.call_id);
      }
      tx.exec_params(
          "INSERT INTO recordings (call_id, assignment_id, agent_id, queue, path, started_at,"
          " keep_until, started_by) VALUES ($1, $2, $3, $4, $5, $6::timestamptz,"
          " NULLIF($7, '')::date, $8) ON CONFLICT (path) DO NOTHING",
          r.call_id, r.assignment_id, a[0][0].as<std::string>(), a[0][1].as<std::string>(), r.path,
          Ts(now), r.keep_until, r.started_by);
      return OkStatus();
    }
    auto rec = tx.exec_params(
        "SELECT id FROM recordings WHERE path = $1 AND call_id = $2 FOR UPDATE", r.path, r.call_id);
    if (rec.empty()) return NotFound("no recording " + r.path + " of call " + r.call_id);
    const std::int64_t id = rec[0][0].as<std::int64_t>();
    const auto close_pause = [&] {
      tx.exec_params(
          "UPDATE recording_pauses SET resumed_at = $2::timestamptz WHERE recording_id = $1"
          " AND resumed_at IS NULL",
          id, Ts(now));
    };
    switch (r.event) {
      case RecordingAction::kPause:
        if (tx.exec_params("SELECT 1 FROM recording_pauses WHERE recording_id = $1"
                           " AND resumed_at IS NULL",
                           id)
                .empty()) {
          tx.exec_params(
              "INSERT INTO recording_pauses (recording_id, paused_at) VALUES ($1, $2::timestamptz)"
              " ON CONFLICT DO NOTHING",
              id, Ts(now));
        }
        break;
      case RecordingAction::kResume:
        close_pause();
        break;
      case RecordingAction::kStop:
        close_pause();
        tx.exec_params(
            "UPDATE recordings SET ended_at = COALESCE(ended_at, $2::timestamptz),"
            " bytes = GREATEST(COALESCE(bytes, 0), $3) WHERE id = $1",
            id, Ts(now), static_cast<std::int64_t>(r.bytes));
        break;
      case RecordingAction::kStart:
        break;
    }
    return OkStatus();
  });
}

Result<int> PgQueueRepository::expire_recordings(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<int> {
    auto r = tx.exec_params(
        "UPDATE recordings SET deleted_at = $1::timestamptz WHERE deleted_at IS NULL"
        " AND keep_until < ($1::timestamptz AT TIME ZONE 'UTC')::date",
        Ts(now));
    return static_cast<int>(r.affected_rows());
  });
}

}  // namespace cc::queue
