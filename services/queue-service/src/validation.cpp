#include "queue_service/validation.h"

#include <cctype>
#include <set>
#include <string_view>

#include "common/names.h"
#include "queue_service/opening_hours.h"

namespace cc::queue {

Status ValidateQueueName(const std::string& name) {
  if (name.empty()) return InvalidArgument("queue name is required");
  if (!IsName(name)) {
    return InvalidArgument("queue name '" + name +
                           "' must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit");
  }
  return OkStatus();
}

Status ValidateCallId(const std::string& id) {
  if (id.empty()) return InvalidArgument("call_id is required");
  if (id.size() > 128) return InvalidArgument("call_id is longer than 128 bytes");
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return InvalidArgument("call_id must be printable ASCII");
  }
  return OkStatus();
}

Status ValidateQueue(const QueueConfig& q) {
  CC_RETURN_IF_ERROR(ValidateQueueName(q.name));
  auto range = [](const char* what, std::int64_t v, std::int64_t lo, std::int64_t hi) -> Status {
    if (v < lo || v > hi) {
      return InvalidArgument(std::string(what) + " must be between " + std::to_string(lo) +
                             " and " + std::to_string(hi) + " (got " + std::to_string(v) + ")");
    }
    return OkStatus();
  };
  if (q.display_name.size() > 128) return InvalidArgument("display_name is longer than 128 bytes");
  CC_RETURN_IF_ERROR(range("ring_timeout (ms)", q.ring_timeout.count(), 1000, 300000));
  CC_RETURN_IF_ERROR(range("max_wait (ms)", q.max_wait.count(), 0, 86400000));
  CC_RETURN_IF_ERROR(range("max_waiting_calls", q.max_waiting_calls, 0, 100000));
  CC_RETURN_IF_ERROR(range("max_attempts", q.max_attempts, 0, 1000));
  CC_RETURN_IF_ERROR(range("requeue_priority_boost", q.requeue_priority_boost, 0, 1000));
  if (q.priority_aging_per_second < 0 || q.priority_aging_per_second > 1000) {
    return InvalidArgument("priority_aging_per_second must be between 0 and 1000");
  }
  CC_RETURN_IF_ERROR(range("wrap_up_seconds", q.wrap_up_seconds, -1, 3600));
  CC_RETURN_IF_ERROR(
      range("service_level_threshold (ms)", q.service_level_threshold.count(), 1000, 3600000));
  CC_RETURN_IF_ERROR(range("no_answer_delay (ms)", q.no_answer_delay.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("busy_delay (ms)", q.busy_delay.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("reject_delay (ms)", q.reject_delay.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("reoffer_delay (ms)", q.reoffer_delay.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("auto_pause_after_no_answers", q.auto_pause_after_no_answers, 0, 100));
  CC_RETURN_IF_ERROR(range("weight", q.weight, 1, 100));
  if (!q.overflow_queue.empty() && !q.overflow_hangup_reason.empty()) {
    return InvalidArgument("overflow: give a queue or a hang-up reason, not both");
  }
  if (!q.overflow_queue.empty()) {
    CC_RETURN_IF_ERROR(ValidateQueueName(q.overflow_queue));
    if (q.overflow_queue == q.name) return InvalidArgument("a queue cannot overflow into itself");
  }
  if (q.overflow_hangup_reason.size() > 200) {
    return InvalidArgument("overflow hang-up reason is longer than 200 bytes");
  }
  std::set<std::string> seen;
  for (const auto& s : q.required_skills) {
    if (!IsSkillName(s.name)) {
      return InvalidArgument("required skill '" + s.name + "' is not a valid skill name");
    }
    CC_RETURN_IF_ERROR(
        range(("required skill '" + s.name + "' min_level").c_str(), s.min_level, 1, 10));
    if (!seen.insert(s.name).second) return InvalidArgument("skill '" + s.name + "' given twice");
  }
  CC_RETURN_IF_ERROR(ValidateOpeningRule(q.opening, q.name));
  const Announcements& a = q.announce;
  CC_RETURN_IF_ERROR(range("announcements.first_after (ms)", a.first_after.count(), 1000, 3600000));
  if (a.every.count() != 0) {
    CC_RETURN_IF_ERROR(range("announcements.every (ms)", a.every.count(), 5000, 3600000));
  }
  if (a.greeting.size() > 20 || a.periodic.size() > 20) {
    return InvalidArgument("announcements: at most 20 greeting and 20 periodic prompts");
  }
  for (const auto* list : {&a.greeting, &a.periodic}) {
    for (const auto& p : *list) {
      if (p.empty() || p.size() > 256) {
        return InvalidArgument("announcement prompt names are 1-256 bytes");
      }
    }
  }
  if (a.language.empty() || a.language.size() > 16 ||
      a.language.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") !=
          std::string::npos) {
    return InvalidArgument("announcements.language '" + a.language.substr(0, 20) +
                           "' is not a language folder name (e.g. en, de, pt-BR)");
  }
  CC_RETURN_IF_ERROR(range("recording.retention_days", q.recording.retention_days, 0, 3650));
  const CallbackPolicy& cb = q.callback;
  CC_RETURN_IF_ERROR(range("callback.offer_after (ms)", cb.offer_after.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("callback.ring_timeout (ms)", cb.ring_timeout.count(), 5000, 120000));
  CC_RETURN_IF_ERROR(range("callback.max_attempts", cb.max_attempts, 1, 10));
  CC_RETURN_IF_ERROR(range("callback.retry_delay (ms)", cb.retry_delay.count(), 0, 86400000));
  if (cb.key.size() != 1 || std::string_view("0123456789*#").find(cb.key[0]) == std::string::npos) {
    return InvalidArgument("callback.key must be one of 0-9, * or #");
  }
  // A trunk is an address to send the customer's INVITE to: host:port, nothing to inject.
  if (!cb.trunk.empty() &&
      (cb.trunk.size() > 255 ||
       cb.trunk.find_first_not_of(
           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]") !=
           std::string::npos)) {
    return InvalidArgument("callback.trunk '" + cb.trunk +
                           "' must be host or host:port (letters, digits, . - : [ ])");
  }
  if (q.music_prompts.size() > 20) return InvalidArgument("at most 20 music prompts");
  for (const auto& p : q.music_prompts) {
    if (p.empty() || p.size() > 256) return InvalidArgument("music prompt names are 1-256 bytes");
  }
  return OkStatus();
}

Status ValidateCallbackNumber(const std::string& number) {
  if (!IsCallbackNumber(number)) {
    return InvalidArgument("callback number '" + number +
                           "' must be 3-20 digits, optionally after a +");
  }
  return OkStatus();
}

Status ValidateOpeningRule(const OpeningRule& o, const std::string& owner) {
  if (auto schedule = Schedule::Parse(o.hours); !schedule.ok()) return schedule.error();
  const int actions = (o.closed_queue.empty() ? 0 : 1) + (o.closed_hangup_reason.empty() ? 0 : 1) +
                      (o.closed_menu.empty() ? 0 : 1) + (o.closed_uri.empty() ? 0 : 1) +
                      (o.closed_callback ? 1 : 0);
  if (actions > 1) {
    return InvalidArgument(
        "opening_hours: give one closed action (a queue, a hang-up reason, a menu, a URI or a "
        "callback), not several");
  }
  if (!o.closed_menu.empty() && !IsName(o.closed_menu)) {
    return InvalidArgument("opening_hours.closed_menu '" + o.closed_menu + "' is no menu name");
  }
  if (!o.closed_uri.empty() && !IsSipUri(o.closed_uri)) {
    return InvalidArgument("opening_hours.closed_uri '" + o.closed_uri +
                           "' is not a SIP URI like sip:user@host");
  }
  if (!o.closed_queue.empty()) {
    CC_RETURN_IF_ERROR(ValidateQueueName(o.closed_queue));
    if (o.closed_queue == owner) {
      return InvalidArgument(
          "opening_hours.when_closed: a queue cannot send its callers to itself");
    }
  }
  if (o.closed_hangup_reason.size() > 200) {
    return InvalidArgument("opening_hours.when_closed hang-up reason is longer than 200 bytes");
  }
  if (o.closed_prompts.size() > 20) return InvalidArgument("at most 20 closed prompts");
  for (const auto& p : o.closed_prompts) {
    if (p.empty() || p.size() > 256) return InvalidArgument("closed prompt names are 1-256 bytes");
  }
  return OkStatus();
}

Status ValidateTransfer(const TransferRequest& r) {
  CC_RETURN_IF_ERROR(ValidateCallId(r.call_id));
  if (r.assignment_id < 0) return InvalidArgument("assignment_id must not be negative");
  const int targets = !r.to_queue.empty() + !r.to_agent.empty() + !r.to_number.empty();
  if (targets != 1) {
    return InvalidArgument("a transfer needs exactly one target: to_queue, to_agent or to_number");
  }
  if (!r.to_queue.empty()) CC_RETURN_IF_ERROR(ValidateQueueName(r.to_queue));
  if (!r.to_agent.empty() && !IsName(r.to_agent)) {
    return InvalidArgument("agent id '" + r.to_agent +
                           "' must be 1-64 letters, digits, '.', '_' or '-'");
  }
  if (!r.to_number.empty()) {
    const std::string_view allowed = "._~+*#-";
    bool ok = r.to_number.size() <= 64;
    for (unsigned char c : r.to_number) {
      ok = ok && (std::isalnum(c) || allowed.find(static_cast<char>(c)) != std::string_view::npos);
    }
    if (!ok) {
      return InvalidArgument("transfer number '" + r.to_number.substr(0, 64) +
                             "' must be 1-64 letters, digits or ._~+*#-");
    }
  }
  if (r.requested_by.size() > 200) return InvalidArgument("requested_by is longer than 200 bytes");
  return OkStatus();
}

}  // namespace cc::queue
