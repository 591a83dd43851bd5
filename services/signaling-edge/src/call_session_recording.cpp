// Recording control of a connected call: the relay records the bridge of the caller and the
// agent in stereo (the caller left, the agent right), one file per agent leg, named by the
// call and the leg in a folder of its retention day; pauses are silence in the file. Every
// step is reported to queue-service, where it becomes the recording's metadata.
#include <ctime>

#include "common/log.h"
#include "signaling_edge/call_session.h"

namespace cc::edge {
namespace {

// The UTC date `days` after `t`, in `format`.
std::string DayAfter(TimePoint t, int days, const char* format) {
  const std::time_t when = std::chrono::system_clock::to_time_t(t + std::chrono::hours(24 * days));
  std::tm utc{};
  gmtime_r(&when, &utc);
  char out[16];
  std::strftime(out, sizeof out, format, &utc);
  return out;
}

// queue-service's answer to a step: only logged (the leg's end closes the record anyway).
Reply<Ok> Logged(const std::string& call_id) {
  return [call_id](Result<Ok> r) {
    if (!r.ok()) {
      log::Warn("recording step not recorded",
                {{"call_id", call_id}, {"error", r.error().message}});
    }
  };
}

}  // namespace

std::string CallSession::on_record(RecordingAction action, int retention_days,
                                   const std::string& by) {
  if (phase_ != CallPhase::kConnected) return "call is " + std::string(ToString(phase_));
  switch (action) {
    case RecordingAction::kStart:
      if (recording_ || recording_starting_) return "the call is being recorded already";
      start_recording(retention_days, by);
      return "";
    case RecordingAction::kPause:
    case RecordingAction::kResume: {
      if (!recording_) return "the call is not being recorded";
      const bool pause = action == RecordingAction::kPause;
      if (recording_->paused == pause) return "";  // as it is
      const std::string path = recording_->path;
      ctx_.media.pause_recording(
          customer_relay_, pause, guard([this, path, pause, action](Result<Ok> r) {
            if (!recording_ || recording_->path != path) return;
            if (!r.ok()) {
              log::Warn("recording not paused or resumed",
                        {{"call_id", call_.id}, {"error", r.error().message}});
              return;
            }
            recording_->paused = pause;
            ctx_.queue.report_recording({call_.id, recording_->assignment, path, action},
                                        Logged(call_.id));
          }));
      return "";
    }
    case RecordingAction::kStop: {
      if (!recording_) return "the call is not being recorded";
      const Recording done = *recording_;
      recording_.reset();
      ctx_.media.stop_recording(
          customer_relay_, guard([this, done](Result<std::uint64_t> r) {
            ctx_.queue.report_recording(
                {call_.id, done.assignment, done.path, RecordingAction::kStop, r.ok() ? *r : 0},
                Logged(call_.id));
          }));
      return "";
    }
  }
  return "unknown action";
}

void CallSession::start_recording(int retention_days, const std::string& by) {
  const TimePoint now = ctx_.clock.now();
  Recording rec;
  rec.assignment = assignment_id_;
  const std::string folder =
      retention_days > 0 ? "until-" + DayAfter(now, retention_days, "%Y%m%d") : "kept";
  if (retention_days > 0) rec.keep_until = DayAfter(now, retention_days, "%Y-%m-%d");
  // Named by the call and the agent leg; a second start on the same leg gets its own file.
  const int nth = ++recordings_of_leg_[assignment_id_];
  rec.path = folder + "/" + call_.id + "-" + std::to_string(assignment_id_) +
             (nth > 1 ? "-" + std::to_string(nth) : "") + ".wav";
  recording_starting_ = true;
  ctx_.media.start_recording(
      customer_relay_, rec.path, guard([this, rec, by](Result<Ok> r) {
        recording_starting_ = false;
        if (!r.ok()) {
          log::Warn("recording not started",
                    {{"call_id", call_.id}, {"path", rec.path}, {"error", r.error().message}});
          return;
        }
        if (assignment_id_ != rec.assignment || phase_ != CallPhase::kConnected) return;
        recording_ = rec;
        log::Info("recording", {{"call_id", call_.id}, {"path", rec.path}, {"by", by}});
        ctx_.queue.report_recording(
            {call_.id, rec.assignment, rec.path, RecordingAction::kStart, 0, rec.keep_until, by},
            Logged(call_.id));
      }));
}

void CallSession::recording_over() {
  if (!recording_) return;
  // The relay closes the file as the agent's leg goes; queue-service closes the record with
  // the leg should this word be lost.
  ctx_.queue.report_recording(
      {call_.id, recording_->assignment, recording_->path, RecordingAction::kStop},
      Logged(call_.id));
  recording_.reset();
}

void CallSession::on_leg_digit(const std::string& leg_id, char digit) {
  if (!leg_id.empty() && leg_id == agent_relay_.id) return on_agent_digit(digit);
  if (!leg_id.empty() && monitor_ && leg_id == monitor_->relay.id) return;  // no codes there
  on_digit(digit);
}

void CallSession::on_agent_digit(char digit) {
  if (phase_ != CallPhase::kConnected) return;
  const TimePoint now = ctx_.clock.now();
  if (agent_star_ && now - *agent_star_ <= std::chrono::seconds(3) && digit != '*') {
    agent_star_.reset();
    const RecordingAction action =
        digit == '1' ? RecordingAction::kPause : RecordingAction::kResume;
    if (digit != '1' && digit != '2') return;
    const std::string refusal = on_record(action, 0, "agent's keypad");
    if (!refusal.empty()) {
      log::Info("agent's recording code ignored", {{"call_id", call_.id}, {"why", refusal}});
    }
    return;
  }
  if (digit == '*') {
    agent_star_ = now;
  } else {
    agent_star_.reset();
  }
}

}  // namespace cc::edge
