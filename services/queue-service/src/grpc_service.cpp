#include "queue_service/grpc_service.h"

#include <set>

#include "common/menu_proto.h"
#include "common/names.h"
#include "common/proto_convert.h"
#include "queue_service/policy.h"
#include "queue_service/validation.h"

namespace cc::queue {

namespace v1 = callcenter::v1;
using cc::FromProto;
using cc::ToProto;

namespace {

Result<Strategy> StrategyFrom(v1::RoutingStrategy s) {
  switch (s) {
    case v1::ROUTING_STRATEGY_UNSPECIFIED:
    case v1::ROUTING_STRATEGY_LONGEST_IDLE_AGENT:
      return Strategy::kLongestIdleAgent;
    case v1::ROUTING_STRATEGY_ROUND_ROBIN:
      return Strategy::kRoundRobin;
    case v1::ROUTING_STRATEGY_FEWEST_CALLS:
      return Strategy::kFewestCalls;
    case v1::ROUTING_STRATEGY_LEAST_TALK_TIME:
      return Strategy::kLeastTalkTime;
    case v1::ROUTING_STRATEGY_RANDOM:
      return Strategy::kRandom;
    case v1::ROUTING_STRATEGY_TOP_DOWN:
      return Strategy::kTopDown;
    case v1::ROUTING_STRATEGY_SKILLS_BASED:
      return Strategy::kSkillsBased;
    default:
      return InvalidArgument("unknown strategy " + std::to_string(s));
  }
}

v1::RoutingStrategy ToProto(Strategy s) {
  v1::RoutingStrategy out;
  v1::RoutingStrategy_Parse("ROUTING_STRATEGY_" + std::string(queue::ToString(s)), &out);
  return out;
}

Result<AnswerMode> AnswerModeFrom(v1::AnswerMode m) {
  switch (m) {
    case v1::ANSWER_MODE_UNSPECIFIED:
    case v1::ANSWER_MODE_ANSWER_IMMEDIATELY:
      return AnswerMode::kAnswerImmediately;
    case v1::ANSWER_MODE_RING_UNTIL_AGENT:
      return AnswerMode::kRingUntilAgent;
    case v1::ANSWER_MODE_EARLY_MEDIA:
      return AnswerMode::kEarlyMedia;
    default:
      return InvalidArgument("unknown answer mode " + std::to_string(m));
  }
}

v1::AnswerMode ToProto(AnswerMode m) {
  switch (m) {
    case AnswerMode::kRingUntilAgent:
      return v1::ANSWER_MODE_RING_UNTIL_AGENT;
    case AnswerMode::kEarlyMedia:
      return v1::ANSWER_MODE_EARLY_MEDIA;
    case AnswerMode::kAnswerImmediately:
      break;
  }
  return v1::ANSWER_MODE_ANSWER_IMMEDIATELY;
}

v1::CallState ToProto(CallState s) {
  v1::CallState out;
  v1::CallState_Parse("CALL_STATE_" + std::string(queue::ToString(s)), &out);
  return out;
}

Result<CallState> CallStateFrom(int s) {
  const std::string name = v1::CallState_Name(static_cast<v1::CallState>(s));
  const std::string prefix = "CALL_STATE_";
  if (name.rfind(prefix, 0) != 0) return InvalidArgument("unknown call state " + std::to_string(s));
  auto st = CallStateFromString(name.substr(prefix.size()));
  if (!st) return InvalidArgument("states must name call states");
  return *st;
}

Result<EmptyQueueRule> EmptyQueueRuleFrom(v1::EmptyQueueRule r) {
  switch (r) {
    case v1::EMPTY_QUEUE_RULE_UNSPECIFIED:
    case v1::EMPTY_QUEUE_RULE_ROUTABLE:
      return EmptyQueueRule::kRoutable;
    case v1::EMPTY_QUEUE_RULE_LOGGED_IN:
      return EmptyQueueRule::kLoggedIn;
    case v1::EMPTY_QUEUE_RULE_ALWAYS:
      return EmptyQueueRule::kAlways;
    default:
      return InvalidArgument("unknown empty-queue rule " + std::to_string(r));
  }
}

v1::EmptyQueueRule ToProto(EmptyQueueRule r) {
  switch (r) {
    case EmptyQueueRule::kLoggedIn:
      return v1::EMPTY_QUEUE_RULE_LOGGED_IN;
    case EmptyQueueRule::kAlways:
      return v1::EMPTY_QUEUE_RULE_ALWAYS;
    case EmptyQueueRule::kRoutable:
      break;
  }
  return v1::EMPTY_QUEUE_RULE_ROUTABLE;
}

Result<OfferFailure> FailureFrom(v1::OfferFailure f) {
  switch (f) {
    case v1::OFFER_FAILURE_NO_ANSWER:
      return OfferFailure::kNoAnswer;
    case v1::OFFER_FAILURE_BUSY:
      return OfferFailure::kBusy;
    case v1::OFFER_FAILURE_REJECTED:
      return OfferFailure::kRejected;
    case v1::OFFER_FAILURE_UNREACHABLE:
      return OfferFailure::kUnreachable;
    case v1::OFFER_FAILURE_CALLBACK_UNANSWERED:
      return OfferFailure::kCallbackUnanswered;
    default:
      return InvalidArgument(
          "reason must be no-answer, busy, rejected, unreachable or callback-unanswered");
  }
}

void ToProto(const Member& m, v1::Member* out) {
  out->set_queue(m.queue);
  out->set_agent_id(m.agent_id);
  out->set_position(m.position);
  out->set_display_name(m.display_name);
  out->set_status(cc::ToProto(m.status));
  out->set_routable(m.routable);
  out->set_active_calls(m.active_calls);
}

void ToProto(const OpeningRule& o, v1::OpeningHours* out) {
  out->set_time_zone(o.hours.time_zone);
  for (const auto& w : o.hours.weekly) out->add_weekly(w);
  for (const auto& d : o.hours.dates) out->add_dates(d);
  if (!o.closed_queue.empty()) out->mutable_when_closed()->set_queue(o.closed_queue);
  if (!o.closed_hangup_reason.empty()) {
    out->mutable_when_closed()->set_hangup_reason(o.closed_hangup_reason);
  }
  for (const auto& p : o.closed_prompts) out->add_closed_prompts(p);
  out->set_closed_menu(o.closed_menu);
  out->set_closed_uri(o.closed_uri);
  out->set_closed_callback(o.closed_callback);
}

OpeningRule FromProto(const v1::OpeningHours& h) {
  OpeningRule o;
  o.hours.time_zone = h.time_zone();
  o.hours.weekly.assign(h.weekly().begin(), h.weekly().end());
  o.hours.dates.assign(h.dates().begin(), h.dates().end());
  o.closed_queue = h.when_closed().queue();
  o.closed_hangup_reason = h.when_closed().hangup_reason();
  o.closed_prompts.assign(h.closed_prompts().begin(), h.closed_prompts().end());
  o.closed_menu = h.closed_menu();
  o.closed_uri = h.closed_uri();
  o.closed_callback = h.closed_callback();
  return o;
}

void ToProto(const DialplanEntry& e, v1::DialplanEntry* out) {
  out->set_pattern(e.pattern);
  out->set_queue(e.queue);
  out->set_menu(e.menu);
  ToProto(e.opening, out->mutable_opening_hours());
}

void ToProto(const Announcements& a, v1::Announcements* out) {
  for (const auto& p : a.greeting) out->add_greeting(p);
  cc::ToProto(a.first_after, out->mutable_first_after());
  cc::ToProto(a.every, out->mutable_every());
  for (const auto& p : a.periodic) out->add_periodic(p);
  out->set_position(a.position);
  out->set_estimated_wait(a.estimated_wait);
  out->set_language(a.language);
  out->set_all_busy(a.all_busy);
}

Announcements FromProto(const v1::Announcements& a) {
  Announcements out;
  out.greeting.assign(a.greeting().begin(), a.greeting().end());
  if (a.has_first_after()) out.first_after = cc::FromProto(a.first_after());
  out.every = cc::FromProto(a.every());
  out.periodic.assign(a.periodic().begin(), a.periodic().end());
  out.position = a.position();
  out.estimated_wait = a.estimated_wait();
  if (!a.language().empty()) out.language = a.language();
  out.all_busy = a.all_busy();
  return out;
}

void ToProto(const CallbackPolicy& c, v1::Callback* out) {
  out->set_enabled(c.enabled);
  cc::ToProto(c.offer_after, out->mutable_offer_after());
  out->set_key(c.key);
  out->set_trunk(c.trunk);
  cc::ToProto(c.ring_timeout, out->mutable_ring_timeout());
  out->set_max_attempts(c.max_attempts);
  cc::ToProto(c.retry_delay, out->mutable_retry_delay());
}

CallbackPolicy FromProto(const v1::Callback& c) {
  CallbackPolicy out;
  out.enabled = c.enabled();
  out.offer_after = cc::FromProto(c.offer_after());
  if (!c.key().empty()) out.key = c.key();
  out.trunk = c.trunk();
  if (c.has_ring_timeout()) out.ring_timeout = cc::FromProto(c.ring_timeout());
  if (c.max_attempts() != 0) out.max_attempts = c.max_attempts();
  if (c.has_retry_delay()) out.retry_delay = cc::FromProto(c.retry_delay());
  return out;
}

}  // namespace

Status ApplyMask(const v1::Queue& from, const std::vector<std::string>& mask, QueueConfig& to) {
  if (mask.empty()) return InvalidArgument("update_mask is empty: name the fields to change");
  for (const auto& field : mask) {
    if (field == "display_name") {
      to.display_name = from.display_name();
    } else if (field == "strategy") {
      CC_ASSIGN_OR_RETURN(to.strategy, StrategyFrom(from.strategy()));
    } else if (field == "answer_mode") {
      CC_ASSIGN_OR_RETURN(to.answer_mode, AnswerModeFrom(from.answer_mode()));
    } else if (field == "ring_timeout") {
      to.ring_timeout = from.has_ring_timeout() ? FromProto(from.ring_timeout()) : Duration{20000};
    } else if (field == "max_wait") {
      to.max_wait = FromProto(from.max_wait());
    } else if (field == "max_waiting_calls") {
      to.max_waiting_calls = from.max_waiting_calls();
    } else if (field == "max_attempts") {
      to.max_attempts = from.max_attempts();
    } else if (field == "overflow") {
      to.overflow_queue = from.overflow().queue();
      to.overflow_hangup_reason = from.overflow().hangup_reason();
    } else if (field == "requeue_priority_boost") {
      to.requeue_priority_boost = from.requeue_priority_boost();
    } else if (field == "priority_aging_per_second") {
      to.priority_aging_per_second = from.priority_aging_per_second();
    } else if (field == "wrap_up_seconds") {
      to.wrap_up_seconds = from.has_wrap_up_seconds() ? from.wrap_up_seconds() : -1;
    } else if (field == "required_skills") {
      to.required_skills.clear();
      for (const auto& s : from.required_skills()) {
        to.required_skills.push_back({s.name(), s.min_level()});
      }
    } else if (field == "service_level_threshold") {
      to.service_level_threshold = from.has_service_level_threshold()
                                       ? FromProto(from.service_level_threshold())
                                       : Duration{20000};
    } else if (field == "no_answer_delay") {
      to.no_answer_delay = FromProto(from.no_answer_delay());
    } else if (field == "busy_delay") {
      to.busy_delay = FromProto(from.busy_delay());
    } else if (field == "reject_delay") {
      to.reject_delay = FromProto(from.reject_delay());
    } else if (field == "auto_pause_after_no_answers") {
      to.auto_pause_after_no_answers = from.auto_pause_after_no_answers();
    } else if (field == "weight") {
      to.weight = from.weight() == 0 ? 1 : from.weight();
    } else if (field == "music_prompts") {
      to.music_prompts.assign(from.music_prompts().begin(), from.music_prompts().end());
    } else if (field == "join_empty") {
      CC_ASSIGN_OR_RETURN(to.join_empty, EmptyQueueRuleFrom(from.join_empty()));
    } else if (field == "leave_empty") {
      CC_ASSIGN_OR_RETURN(to.leave_empty, EmptyQueueRuleFrom(from.leave_empty()));
    } else if (field == "opening_hours") {
      to.opening = FromProto(from.opening_hours());
    } else if (field == "announcements") {
      to.announce = FromProto(from.announcements());
    } else if (field == "callback") {
      to.callback = FromProto(from.callback());
    } else if (field == "recording") {
      switch (from.recording().mode()) {
        case v1::RecordingPolicy::MODE_UNSPECIFIED:
        case v1::RecordingPolicy::MODE_NEVER:
          to.recording.mode = RecordingMode::kNever;
          break;
        case v1::RecordingPolicy::MODE_ALWAYS:
          to.recording.mode = RecordingMode::kAlways;
          break;
        case v1::RecordingPolicy::MODE_ON_DEMAND:
          to.recording.mode = RecordingMode::kOnDemand;
          break;
        default:
          return InvalidArgument("recording.mode is NEVER, ALWAYS or ON_DEMAND");
      }
      to.recording.retention_days = from.recording().retention_days();
    } else if (field == "reoffer_delay") {
      to.reoffer_delay =
          from.has_reoffer_delay() ? FromProto(from.reoffer_delay()) : Duration{5000};
    } else {
      return InvalidArgument("update_mask names unknown field '" + field + "'");
    }
  }
  return OkStatus();
}

Result<QueueConfig> FromProto(const v1::Queue& q) {
  QueueConfig out;
  out.name = q.name();
  static const std::vector<std::string> kAll = {"display_name",
                                                "strategy",
                                                "answer_mode",
                                                "ring_timeout",
                                                "max_wait",
                                                "max_waiting_calls",
                                                "max_attempts",
                                                "overflow",
                                                "requeue_priority_boost",
                                                "priority_aging_per_second",
                                                "wrap_up_seconds",
                                                "required_skills",
                                                "service_level_threshold",
                                                "no_answer_delay",
                                                "busy_delay",
                                                "reject_delay",
                                                "auto_pause_after_no_answers",
                                                "weight",
                                                "music_prompts",
                                                "join_empty",
                                                "leave_empty",
                                                "reoffer_delay",
                                                "opening_hours",
                                                "announcements",
                                                "callback",
                                                "recording"};
  CC_RETURN_IF_ERROR(ApplyMask(q, kAll, out));
  CC_RETURN_IF_ERROR(ValidateQueue(out));
  return out;
}

void ToProto(const QueueConfig& q, v1::Queue* out, TimePoint now) {
  out->set_name(q.name);
  out->set_display_name(q.display_name);
  out->set_strategy(ToProto(q.strategy));
  out->set_answer_mode(ToProto(q.answer_mode));
  ToProto(q.ring_timeout, out->mutable_ring_timeout());
  ToProto(q.max_wait, out->mutable_max_wait());
  out->set_max_waiting_calls(q.max_waiting_calls);
  out->set_max_attempts(q.max_attempts);
  if (!q.overflow_queue.empty()) out->mutable_overflow()->set_queue(q.overflow_queue);
  if (!q.overflow_hangup_reason.empty()) {
    out->mutable_overflow()->set_hangup_reason(q.overflow_hangup_reason);
  }
  out->set_requeue_priority_boost(q.requeue_priority_boost);
  out->set_priority_aging_per_second(q.priority_aging_per_second);
  if (q.wrap_up_seconds >= 0) out->set_wrap_up_seconds(q.wrap_up_seconds);
  for (const auto& s : q.required_skills) ToProto(s, out->add_required_skills());
  ToProto(q.service_level_threshold, out->mutable_service_level_threshold());
  ToProto(q.no_answer_delay, out->mutable_no_answer_delay());
  ToProto(q.busy_delay, out->mutable_busy_delay());
  ToProto(q.reject_delay, out->mutable_reject_delay());
  out->set_auto_pause_after_no_answers(q.auto_pause_after_no_answers);
  out->set_weight(q.weight);
  for (const auto& p : q.music_prompts) out->add_music_prompts(p);
  out->set_version(q.version);
  out->set_join_empty(ToProto(q.join_empty));
  out->set_leave_empty(ToProto(q.leave_empty));
  ToProto(q.reoffer_delay, out->mutable_reoffer_delay());
  ToProto(q.opening, out->mutable_opening_hours());
  out->set_open_now(q.opening.open_at(now));
  ToProto(q.announce, out->mutable_announcements());
  ToProto(q.callback, out->mutable_callback());
  out->mutable_recording()->set_mode(
      q.recording.mode == RecordingMode::kAlways     ? v1::RecordingPolicy::MODE_ALWAYS
      : q.recording.mode == RecordingMode::kOnDemand ? v1::RecordingPolicy::MODE_ON_DEMAND
                                                     : v1::RecordingPolicy::MODE_NEVER);
  out->mutable_recording()->set_retention_days(q.recording.retention_days);
}

void ToProto(const Call& c, v1::Call* out) {
  out->set_id(c.id);
  out->set_queue(c.queue);
  out->set_caller(c.caller);
  out->set_priority(c.priority);
  out->set_state(ToProto(c.state));
  out->set_edge_id(c.edge_id);
  out->set_agent_id(c.agent_id);
  out->set_attempts(c.attempts);
  ToProto(c.enqueued_at, out->mutable_enqueued_at());
  ToProto(c.queue_entered_at, out->mutable_queue_entered_at());
  if (c.offered_at) ToProto(*c.offered_at, out->mutable_offered_at());
  if (c.connected_at) ToProto(*c.connected_at, out->mutable_connected_at());
  if (c.ended_at) ToProto(*c.ended_at, out->mutable_ended_at());
  out->set_outcome_reason(c.outcome_reason);
  out->set_assignment_id(c.assignment_id);
  out->set_overflowed_from(c.overflowed_from);
  for (const auto& [k, v] : c.data) (*out->mutable_data())[k] = v;
  for (const auto& sk : c.skills) ToProto(sk, out->add_skills());
  out->set_language(c.language);
  out->set_callback_number(c.callback_number);
  out->set_callback_attempts(c.callback_attempts);
}

void ToProto(const QueueStats& s, v1::QueueStats* out) {
  out->set_queue(s.queue);
  out->set_waiting(s.waiting);
  ToProto(s.longest_wait, out->mutable_longest_wait());
  out->set_agents_available(s.agents_available);
  out->set_agents_busy(s.agents_busy);
  out->set_offered(s.offered);
  out->set_answered(s.answered);
  out->set_abandoned(s.abandoned);
  out->set_service_level(s.service_level);
  ToProto(s.average_speed_of_answer, out->mutable_average_speed_of_answer());
  ToProto(s.average_handle_time, out->mutable_average_handle_time());
  ToProto(s.window, out->mutable_window());
}

void ToProto(const OfferBinding& b, const std::string& agent_id, v1::Binding* out) {
  out->set_agent_id(agent_id);
  out->set_contact_uri(b.contact_uri);
  out->set_source_address(b.source_address);
  out->set_source_port(b.source_port);
  out->set_transport(b.tls   ? v1::SIP_TRANSPORT_TLS
                     : b.tcp ? v1::SIP_TRANSPORT_TCP
                             : v1::SIP_TRANSPORT_UDP);
}

void ToProto(const Offer& o, v1::Offer* out) {
  out->set_assignment_id(o.assignment_id);
  out->set_call_id(o.call_id);
  out->set_agent_id(o.agent_id);
  out->set_queue(o.queue);
  out->set_ring_timeout_ms(static_cast<int>(o.ring_timeout.count()));
  ToProto(o.lease_deadline, out->mutable_lease_deadline());
  out->set_caller(o.caller);
  out->set_attempt(o.attempt);
  for (const auto& b : o.bindings) ToProto(b, o.agent_id, out->add_bindings());
  out->set_callback_number(o.callback_number);
  out->set_callback_trunk(o.callback_trunk);
  out->set_callback_ring_timeout_ms(static_cast<int>(o.callback_ring_timeout.count()));
  out->set_record(o.record);
  out->set_recording_retention_days(o.recording_retention_days);
}

v1::CallEvent::Kind ToProto(CallEventKind k) {
  switch (k) {
    case CallEventKind::kEnqueued:
      return v1::CallEvent::KIND_ENQUEUED;
    case CallEventKind::kOffered:
      return v1::CallEvent::KIND_OFFERED;
    case CallEventKind::kConnected:
      return v1::CallEvent::KIND_CONNECTED;
    case CallEventKind::kEnded:
      return v1::CallEvent::KIND_ENDED;
    case CallEventKind::kAbandoned:
      return v1::CallEvent::KIND_ABANDONED;
    case CallEventKind::kOverflowed:
      return v1::CallEvent::KIND_OVERFLOWED;
    case CallEventKind::kTimedOut:
      return v1::CallEvent::KIND_TIMED_OUT;
    case CallEventKind::kFailed:
      return v1::CallEvent::KIND_FAILED;
    case CallEventKind::kRequeued:
      return v1::CallEvent::KIND_REQUEUED;
    case CallEventKind::kTransferred:
      return v1::CallEvent::KIND_TRANSFERRED;
  }
  return v1::CallEvent::KIND_UNSPECIFIED;
}

namespace {
Status RequireEdge(const std::string& edge_id) {
  if (edge_id.empty()) return InvalidArgument("edge_id is required");
  if (edge_id.size() > 128) return InvalidArgument("edge_id is longer than 128 bytes");
  return OkStatus();
}
Status RequireAssignmentId(std::int64_t id) {
  if (id <= 0) return InvalidArgument("assignment_id is required (from the offer)");
  return OkStatus();
}
Status RequireReason(const std::string& r) {
  if (r.size() > 200) return InvalidArgument("reason is longer than 200 bytes");
  return OkStatus();
}
// What an IVR menu gathered, as the edge passes it on with the enqueue.
Status CallExtras(const v1::EnqueueRequest& req, NewCall& c) {
  if (req.data_size() > 20) return InvalidArgument("at most 20 data entries");
  for (const auto& [k, v] : req.data()) {
    if (!IsSkillName(k)) {
      return InvalidArgument("data key '" + k + "' must be 1-64 lowercase letters, digits, _ or -");
    }
    if (v.size() > kMaxCollectedDigits ||
        v.find_first_not_of("0123456789*#") != std::string::npos) {
      return InvalidArgument("data '" + k + "' must be up to " +
                             std::to_string(kMaxCollectedDigits) + " keypad digits");
    }
    c.data[k] = v;
  }
  if (req.skills_size() > 20) return InvalidArgument("at most 20 skills");
  for (const auto& s : req.skills()) {
    if (!IsSkillName(s.name()) || s.min_level() < 1 || s.min_level() > 10) {
      return InvalidArgument("skill '" + s.name() + "' needs a skill name and a level 1..10");
    }
    c.skills.push_back({s.name(), s.min_level()});
  }
  if (!req.language().empty() && !IsLanguage(req.language())) {
    return InvalidArgument("language '" + req.language() + "' is not a language tag");
  }
  c.language = req.language();
  if (!req.callback_number().empty()) {
    CC_RETURN_IF_ERROR(ValidateCallbackNumber(req.callback_number()));
    if (req.target_case() != v1::EnqueueRequest::kQueue) {
      return InvalidArgument("a callback names its queue");
    }
  }
  c.callback_number = req.callback_number();
  return OkStatus();
}

Status RequirePattern(const std::string& p) {
  static const std::string kAllowed =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+*#-";
  if (p.empty() || p.size() > 64 || p.find_first_not_of(kAllowed) != std::string::npos) {
    return InvalidArgument("dialplan pattern '" + p +
                           "' must be 1-64 characters of letters, digits or . _ + * # -");
  }
  return OkStatus();
}
}  // namespace

grpc::Status QueueServiceGrpc::CreateQueue(Ctx* ctx, const v1::CreateQueueRequest* req,
                                           v1::QueueResponse* resp) {
  return HandleRpc(ctx, metrics_, "CreateQueue", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(QueueConfig q, FromProto(req->queue()));
    CC_ASSIGN_OR_RETURN(QueueConfig created,
                        engine_.store().create_queue(q, SystemClock::instance().now()));
    ToProto(created, resp->mutable_queue(), engine_.now());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::UpdateQueue(Ctx* ctx, const v1::UpdateQueueRequest* req,
                                           v1::QueueResponse* resp) {
  return HandleRpc(ctx, metrics_, "UpdateQueue", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->queue().name()));
    const std::vector<std::string> mask(req->update_mask().begin(), req->update_mask().end());
    CC_ASSIGN_OR_RETURN(QueueConfig q, engine_.store().update_queue(
                                           req->queue().name(), req->queue().version(),
                                           [&](QueueConfig& current) {
                                             return ApplyMask(req->queue(), mask, current);
                                           },
                                           SystemClock::instance().now()));
    ToProto(q, resp->mutable_queue(), engine_.now());
    engine_.trigger();  // new skills or strategy may match waiting calls now
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::GetQueue(Ctx* ctx, const v1::GetQueueRequest* req,
                                        v1::QueueResponse* resp) {
  return HandleRpc(ctx, metrics_, "GetQueue", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->name()));
    CC_ASSIGN_OR_RETURN(QueueConfig q, engine_.store().get_queue(req->name()));
    ToProto(q, resp->mutable_queue(), engine_.now());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ListQueues(Ctx* ctx, const v1::ListQueuesRequest*,
                                          v1::ListQueuesResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListQueues", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(auto qs, engine_.store().list_queues());
    for (const auto& q : qs) ToProto(q, resp->add_queues(), engine_.now());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::DeleteQueue(Ctx* ctx, const v1::DeleteQueueRequest* req,
                                           v1::DeleteQueueResponse*) {
  return HandleRpc(ctx, metrics_, "DeleteQueue", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->name()));
    return engine_.store().delete_queue(req->name());
  });
}

grpc::Status QueueServiceGrpc::SetDialplanEntry(Ctx* ctx, const v1::SetDialplanEntryRequest* req,
                                                v1::DialplanResponse* resp) {
  return HandleRpc(ctx, metrics_, "SetDialplanEntry", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequirePattern(req->entry().pattern()));
    DialplanEntry entry;
    entry.pattern = req->entry().pattern();
    entry.queue = req->entry().queue();
    entry.menu = req->entry().menu();
    entry.opening = FromProto(req->entry().opening_hours());
    if (entry.menu.empty()) {
      CC_RETURN_IF_ERROR(ValidateQueueName(entry.queue));
    } else {
      if (!entry.queue.empty()) return InvalidArgument("give a queue or a menu, not both");
      if (!IsName(entry.menu)) return InvalidArgument("menu '" + entry.menu + "' is no name");
      if (!entry.opening.hours.time_zone.empty() || !entry.opening.hours.weekly.empty() ||
          !entry.opening.hours.dates.empty()) {
        return InvalidArgument(
            "a number that leads to a menu has no hours of its own; the queues of the menu keep"
            " theirs");
      }
    }
    CC_RETURN_IF_ERROR(ValidateOpeningRule(entry.opening, ""));
    CC_ASSIGN_OR_RETURN(auto e, engine_.store().set_dialplan(entry));
    ToProto(e, resp->mutable_entry());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::DeleteDialplanEntry(Ctx* ctx,
                                                   const v1::DeleteDialplanEntryRequest* req,
                                                   v1::DialplanResponse* resp) {
  return HandleRpc(ctx, metrics_, "DeleteDialplanEntry", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequirePattern(req->pattern()));
    CC_ASSIGN_OR_RETURN(auto e, engine_.store().delete_dialplan(req->pattern()));
    ToProto(e, resp->mutable_entry());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ListDialplan(Ctx* ctx, const v1::ListDialplanRequest*,
                                            v1::ListDialplanResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListDialplan", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(auto entries, engine_.store().list_dialplan());
    for (const auto& e : entries) ToProto(e, resp->add_entries());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ResolveDialed(Ctx* ctx, const v1::ResolveDialedRequest* req,
                                             v1::ResolveDialedResponse* resp) {
  return HandleRpc(ctx, metrics_, "ResolveDialed", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequirePattern(req->dialed()));
    CC_ASSIGN_OR_RETURN(auto q, engine_.store().resolve(req->dialed()));
    ToProto(q, resp->mutable_queue(), engine_.now());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::SetMember(Ctx* ctx, const v1::SetMemberRequest* req,
                                         v1::MemberResponse* resp) {
  return HandleRpc(ctx, metrics_, "SetMember", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->member().queue()));
    if (req->member().agent_id().empty()) return InvalidArgument("agent_id is required");
    if (req->member().position() < 0 || req->member().position() > 10000) {
      return InvalidArgument("position must be 0..10000");
    }
    Member m;
    m.queue = req->member().queue();
    m.agent_id = req->member().agent_id();
    m.position = req->member().position();
    CC_ASSIGN_OR_RETURN(Member out, engine_.store().set_member(m, SystemClock::instance().now()));
    ToProto(out, resp->mutable_member());
    engine_.trigger();
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::RemoveMember(Ctx* ctx, const v1::RemoveMemberRequest* req,
                                            v1::MemberResponse* resp) {
  return HandleRpc(ctx, metrics_, "RemoveMember", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
    if (req->agent_id().empty()) return InvalidArgument("agent_id is required");
    CC_ASSIGN_OR_RETURN(Member out, engine_.store().remove_member(req->queue(), req->agent_id(),
                                                                  SystemClock::instance().now()));
    ToProto(out, resp->mutable_member());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ListMembers(Ctx* ctx, const v1::ListMembersRequest* req,
                                           v1::ListMembersResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListMembers", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
    CC_ASSIGN_OR_RETURN(auto members,
                        engine_.store().list_members(req->queue(), SystemClock::instance().now()));
    for (const auto& m : members) ToProto(m, resp->add_members());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::Enqueue(Ctx* ctx, const v1::EnqueueRequest* req,
                                       v1::EnqueueResponse* resp) {
  return HandleRpc(ctx, metrics_, "Enqueue", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_RETURN_IF_ERROR(RequireEdge(req->edge_id()));
    NewCall c;
    c.id = req->call_id();
    if (req->target_case() == v1::EnqueueRequest::kQueue) {
      CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
      c.queue = req->queue();
    } else if (req->target_case() == v1::EnqueueRequest::kDialed) {
      CC_RETURN_IF_ERROR(RequirePattern(req->dialed()));
      c.dialed = req->dialed();
    } else {
      return InvalidArgument("give queue or dialed");
    }
    if (req->caller().size() > 256) return InvalidArgument("caller is longer than 256 bytes");
    if (req->priority() < -1000000 || req->priority() > 1000000) {
      return InvalidArgument("priority must be within +-1000000");
    }
    c.caller = req->caller();
    c.priority = req->priority();
    c.edge_id = req->edge_id();
    CC_RETURN_IF_ERROR(CallExtras(*req, c));
    CC_ASSIGN_OR_RETURN(EnqueueResult r, engine_.enqueue(c));
    ToProto(r.call, resp->mutable_call());
    resp->set_redirect_uri(r.redirect_uri);
    resp->set_offer_callback(r.offer_callback);
    for (const auto& m : r.menus) ToProto(m, resp->add_menus());
    if (!r.menus.empty() || !r.redirect_uri.empty() || r.offer_callback) {
      resp->set_queue(r.queue.name);
      for (const auto& p : r.exit_prompts) resp->add_exit_prompts(p);
      ToProto(r.queue.announce, resp->mutable_announcements());
      return OkStatus();
    }
    resp->set_queue(r.queue.name);
    resp->set_position(r.position);
    ToProto(r.estimated_wait, resp->mutable_estimated_wait());
    resp->set_answer_mode(ToProto(r.queue.answer_mode));
    for (const auto& p : r.queue.music_prompts) resp->add_music_prompts(p);
    for (const auto& p : r.exit_prompts) resp->add_exit_prompts(p);
    ToProto(r.queue.announce, resp->mutable_announcements());
    ToProto(r.queue.callback, resp->mutable_callback());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::CancelCall(Ctx* ctx, const v1::CancelCallRequest* req,
                                          v1::CancelCallResponse* resp) {
  return HandleRpc(ctx, metrics_, "CancelCall", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_RETURN_IF_ERROR(RequireReason(req->reason()));
    CC_ASSIGN_OR_RETURN(Call c, engine_.cancel(req->call_id(), req->reason()));
    ToProto(c, resp->mutable_call());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::RequestCallback(Ctx* ctx, const v1::RequestCallbackRequest* req,
                                               v1::RequestCallbackResponse* resp) {
  return HandleRpc(ctx, metrics_, "RequestCallback", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_RETURN_IF_ERROR(RequireEdge(req->edge_id()));
    CC_RETURN_IF_ERROR(ValidateCallbackNumber(req->number()));
    CC_ASSIGN_OR_RETURN(Call c,
                        engine_.request_callback(req->call_id(), req->number(), req->edge_id()));
    ToProto(c, resp->mutable_call());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::GetCall(Ctx* ctx, const v1::GetCallRequest* req,
                                       v1::GetCallResponse* resp) {
  return HandleRpc(ctx, metrics_, "GetCall", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_ASSIGN_OR_RETURN(Call c, engine_.store().get_call(req->call_id()));
    CC_ASSIGN_OR_RETURN(auto pos, engine_.store().position(c, engine_.now()));
    ToProto(c, resp->mutable_call());
    resp->set_position(pos.first);
    ToProto(pos.second, resp->mutable_estimated_wait());
    if (c.state == CallState::kWaiting) {
      CC_ASSIGN_OR_RETURN(int free, engine_.store().agents_available(c.queue));
      resp->set_agents_available(free);
    }
    if (req->with_history()) {
      CC_ASSIGN_OR_RETURN(CallHistory h, engine_.store().history(c.id));
      for (const auto& l : h.legs) ToProto(l, resp->add_legs());
      for (const auto& t : h.transfers) ToProto(t, resp->add_transfers());
      for (const auto& m : h.monitors) ToProto(m, resp->add_monitors());
      for (const auto& r : h.recordings) ToProto(r, resp->add_recordings());
    }
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ListCalls(Ctx* ctx, const v1::ListCallsRequest* req,
                                         v1::ListCallsResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListCalls", [&]() -> Status {
    CallFilter f;
    if (!req->queue().empty()) CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
    f.queue = req->queue();
    for (int s : req->states()) {
      CC_ASSIGN_OR_RETURN(CallState st, CallStateFrom(s));
      f.states.push_back(st);
    }
    f.limit = req->limit() == 0 ? 500 : req->limit();
    if (f.limit < 1 || f.limit > 10000) return InvalidArgument("limit must be 1..10000");
    CC_ASSIGN_OR_RETURN(auto calls, engine_.store().list_calls(f));
    for (const auto& c : calls) ToProto(c, resp->add_calls());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::EdgeHeartbeat(Ctx* ctx, const v1::EdgeHeartbeatRequest* req,
                                             v1::EdgeHeartbeatResponse* resp) {
  return HandleRpc(ctx, metrics_, "EdgeHeartbeat", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireEdge(req->edge_id()));
    if (req->lease_seconds() < 0 || req->lease_seconds() > 3600) {
      return InvalidArgument("lease_seconds must be 0..3600 (0: the default)");
    }
    if (req->call_ids_size() > 100000) return InvalidArgument("at most 100000 call_ids");
    queue::EdgeHeartbeat hb;
    hb.edge_id = req->edge_id();
    hb.lease =
        req->lease_seconds() == 0 ? default_edge_lease_ : Duration{req->lease_seconds() * 1000};
    // A list that waited past its deadline may predate calls enqueued since: it still extends
    // the lease, but ends nothing.
    hb.reconcile = req->reconcile() && !ctx->IsCancelled() &&
                   std::chrono::system_clock::now() < ctx->deadline();
    hb.call_ids.assign(req->call_ids().begin(), req->call_ids().end());
    for (const auto& id : hb.call_ids) CC_RETURN_IF_ERROR(ValidateCallId(id));
    CC_ASSIGN_OR_RETURN(EdgeReconciliation r, engine_.heartbeat(hb));
    resp->set_calls(r.live_calls);
    for (const auto& id : r.ended_call_ids) resp->add_ended_call_ids(id);
    for (const auto& id : r.unknown_call_ids) resp->add_unknown_call_ids(id);
    resp->set_reconciled(r.reconciled);
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ReportConnected(Ctx* ctx, const v1::ReportConnectedRequest* req,
                                               v1::ReportResponse* resp) {
  return HandleRpc(ctx, metrics_, "ReportConnected", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_RETURN_IF_ERROR(RequireAssignmentId(req->assignment_id()));
    CC_ASSIGN_OR_RETURN(Call c, engine_.connected(req->assignment_id(), req->call_id()));
    ToProto(c, resp->mutable_call());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ReportFailed(Ctx* ctx, const v1::ReportFailedRequest* req,
                                            v1::ReportResponse* resp) {
  return HandleRpc(ctx, metrics_, "ReportFailed", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_RETURN_IF_ERROR(RequireAssignmentId(req->assignment_id()));
    CC_RETURN_IF_ERROR(RequireReason(req->detail()));
    CC_ASSIGN_OR_RETURN(OfferFailure reason, FailureFrom(req->reason()));
    CC_ASSIGN_OR_RETURN(
        Call c, engine_.failed(req->assignment_id(), req->call_id(), reason, req->detail()));
    ToProto(c, resp->mutable_call());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ReportEnded(Ctx* ctx, const v1::ReportEndedRequest* req,
                                           v1::ReportResponse* resp) {
  return HandleRpc(ctx, metrics_, "ReportEnded", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_RETURN_IF_ERROR(RequireAssignmentId(req->assignment_id()));
    CC_RETURN_IF_ERROR(RequireReason(req->reason()));
    CC_ASSIGN_OR_RETURN(Call c, engine_.ended(req->assignment_id(), req->call_id(), req->reason()));
    ToProto(c, resp->mutable_call());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::GetQueueStats(Ctx* ctx, const v1::GetQueueStatsRequest* req,
                                             v1::GetQueueStatsResponse* resp) {
  return HandleRpc(ctx, metrics_, "GetQueueStats", [&]() -> Status {
    if (!req->queue().empty()) CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
    const Duration window = req->has_window() ? FromProto(req->window()) : Duration{15 * 60 * 1000};
    if (window.count() < 1000 || window.count() > 31LL * 24 * 3600 * 1000) {
      return InvalidArgument("window must be between 1 second and 31 days");
    }
    CC_ASSIGN_OR_RETURN(auto stats,
                        engine_.store().stats(req->queue(), window, SystemClock::instance().now()));
    for (const auto& s : stats) ToProto(s, resp->add_stats());
    return OkStatus();
  });
}

}  // namespace cc::queue

namespace cc::queue {

grpc::Status QueueServiceGrpc::ImportMenus(Ctx* ctx, const v1::ImportMenusRequest* req,
                                           v1::ImportMenusResponse* resp) {
  return HandleRpc(ctx, metrics_, "ImportMenus", [&]() -> Status {
    if (req->menus_size() == 0) return InvalidArgument("no menus given");
    if (req->menus_size() > static_cast<int>(kMaxMenusPerImport)) {
      return InvalidArgument("more than " + std::to_string(kMaxMenusPerImport) + " menus at once");
    }
    std::vector<Menu> menus;
    for (const auto& m : req->menus()) menus.push_back(FromProto(m));
    for (const auto& m : menus) CC_RETURN_IF_ERROR(ValidateMenu(m));
    CC_ASSIGN_OR_RETURN(auto stored,
                        engine_.store().import_menus(menus, SystemClock::instance().now()));
    for (const auto& m : stored) ToProto(m, resp->add_menus());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::GetMenu(Ctx* ctx, const v1::GetMenuRequest* req,
                                       v1::MenuResponse* resp) {
  return HandleRpc(ctx, metrics_, "GetMenu", [&]() -> Status {
    if (!IsName(req->name())) return InvalidArgument("menu '" + req->name() + "' is no name");
    CC_ASSIGN_OR_RETURN(Menu m, engine_.store().get_menu(req->name()));
    ToProto(m, resp->mutable_menu());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ListMenus(Ctx* ctx, const v1::ListMenusRequest*,
                                         v1::ListMenusResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListMenus", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(auto menus, engine_.store().list_menus());
    for (const auto& m : menus) ToProto(m, resp->add_menus());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::DeleteMenu(Ctx* ctx, const v1::DeleteMenuRequest* req,
                                          v1::DeleteMenuResponse*) {
  return HandleRpc(ctx, metrics_, "DeleteMenu", [&]() -> Status {
    if (!IsName(req->name())) return InvalidArgument("menu '" + req->name() + "' is no name");
    return engine_.store().delete_menu(req->name());
  });
}

}  // namespace cc::queue
