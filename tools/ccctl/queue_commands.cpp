// ccctl queue / dialplan: the QueueService commands for queues and numbers.
#include <cmath>
#include <iostream>
#include <map>
#include <optional>

#include "callcenter/v1/queue_service.grpc.pb.h"
#include "cli.h"
#include "common/config.h"
#include "common/proto_convert.h"

namespace ccctl {
namespace {

namespace v1 = callcenter::v1;

std::unique_ptr<v1::QueueService::Stub> Stub(const Globals& g) {
  return v1::QueueService::NewStub(Channel(g, "CC_QUEUE_SERVICE_GRPC", "127.0.0.1:50052"));
}

cc::Duration ParseDuration(const std::string& flag, const std::string& text) {
  auto d = cc::Config::ParseDuration(text);
  if (!d) throw UsageError("--" + flag + " expects a duration such as 30s, 500ms or 5m");
  return *d;
}

std::string Secs(const google::protobuf::Duration& d) {
  const auto ms = cc::FromProto(d).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Queue flags -> fields of `q`, and the names of the fields they set (the update mask).
const std::vector<std::string> kQueueFlags = {"name",
                                              "strategy",
                                              "answer-mode",
                                              "ring-timeout",
                                              "max-wait",
                                              "max-waiting",
                                              "max-attempts",
                                              "overflow-queue",
                                              "overflow-hangup",
                                              "boost",
                                              "aging",
                                              "wrap-up",
                                              "skill",
                                              "sla",
                                              "no-answer-delay",
                                              "busy-delay",
                                              "reject-delay",
                                              "auto-pause",
                                              "weight",
                                              "music",
                                              "join-empty",
                                              "leave-empty",
                                              "reoffer-delay",
                                              "time-zone",
                                              "hours",
                                              "date",
                                              "closed-queue",
                                              "closed-hangup",
                                              "closed-prompt",
                                              "greeting",
                                              "announce",
                                              "announce-first",
                                              "announce-every",
                                              "language",
                                              "callback-after",
                                              "callback-key",
                                              "callback-trunk",
                                              "callback-ring",
                                              "callback-attempts",
                                              "callback-retry",
                                              "recording",
                                              "recording-retention",
                                              "expect-version"};
const std::vector<std::string> kQueueBoolFlags = {"announce-position", "announce-wait",
                                                  "announce-busy",     "callback",
                                                  "no-callback",       "closed-callback"};

const std::vector<std::string> kHoursFlags = {"time-zone",    "hours",         "date",
                                              "closed-queue", "closed-hangup", "closed-prompt",
                                              "closed-menu",  "closed-uri"};

// --time-zone, --hours, --date, --closed-queue | --closed-hangup, --closed-prompt into `h`;
// false when none of them is given.
bool FillOpeningHours(const Args& a, v1::OpeningHours* h) {
  bool any = a.has("closed-callback");
  for (const auto& f : kHoursFlags) any = any || a.has(f);
  if (!any) return false;
  h->set_time_zone(a.get("time-zone").value_or(""));
  for (const auto& w : a.all("hours")) h->add_weekly(w);
  for (const auto& d : a.all("date")) h->add_dates(d);
  if (auto v = a.get("closed-queue")) h->mutable_when_closed()->set_queue(*v);
  if (auto v = a.get("closed-hangup")) h->mutable_when_closed()->set_hangup_reason(*v);
  for (const auto& p : a.all("closed-prompt")) h->add_closed_prompts(p);
  h->set_closed_menu(a.get("closed-menu").value_or(""));
  h->set_closed_uri(a.get("closed-uri").value_or(""));
  h->set_closed_callback(a.has("closed-callback"));
  return true;
}

std::vector<std::string> FillQueue(const Args& a, v1::Queue* q) {
  std::vector<std::string> mask;
  // Takes the field's accessor, not the field: mutable_x() would mark it present.
  auto dur = [&](const char* flag, const char* field, auto mutable_field) {
    if (auto v = a.get(flag)) {
      cc::ToProto(ParseDuration(flag, *v), mutable_field());
      mask.push_back(field);
    }
  };
  auto num = [&](const char* flag, const char* field, auto setter) {
    if (a.has(flag)) {
      setter(a.get_int(flag, 0));
      mask.push_back(field);
    }
  };
  if (auto v = a.get("name")) {
    q->set_display_name(*v);
    mask.push_back("display_name");
  }
  if (auto v = a.get("strategy")) {
    v1::RoutingStrategy s;
    if (!v1::RoutingStrategy_Parse("ROUTING_STRATEGY_" + Upper(*v), &s)) {
      throw UsageError("unknown strategy '" + *v +
                       "' (longest-idle-agent, round-robin, fewest-calls, least-talk-time, "
                       "random, top-down, skills-based)");
    }
    q->set_strategy(s);
    mask.push_back("strategy");
  }
  if (auto v = a.get("answer-mode")) {
    v1::AnswerMode m;
    if (!v1::AnswerMode_Parse("ANSWER_MODE_" + Upper(*v), &m)) {
      throw UsageError("unknown answer mode '" + *v +
                       "' (answer-immediately, ring-until-agent, early-media)");
    }
    q->set_answer_mode(m);
    mask.push_back("answer_mode");
  }
  dur("ring-timeout", "ring_timeout", [&] { return q->mutable_ring_timeout(); });
  dur("max-wait", "max_wait", [&] { return q->mutable_max_wait(); });
  num("max-waiting", "max_waiting_calls", [&](int v) { q->set_max_waiting_calls(v); });
  num("max-attempts", "max_attempts", [&](int v) { q->set_max_attempts(v); });
  if (auto v = a.get("overflow-queue")) q->mutable_overflow()->set_queue(*v);
  if (auto v = a.get("overflow-hangup")) q->mutable_overflow()->set_hangup_reason(*v);
  if (a.has("overflow-queue") || a.has("overflow-hangup")) mask.push_back("overflow");
  num("boost", "requeue_priority_boost", [&](int v) { q->set_requeue_priority_boost(v); });
  if (auto v = a.get("aging")) {
    try {
      q->set_priority_aging_per_second(std::stod(*v));
    } catch (const std::exception&) {
      throw UsageError("--aging expects a number (priority points per second waited)");
    }
    mask.push_back("priority_aging_per_second");
  }
  if (auto v = a.get("wrap-up")) {
    if (*v != "agent") q->set_wrap_up_seconds(a.get_int("wrap-up", 0));
    mask.push_back("wrap_up_seconds");
  }
  if (a.has("skill")) {
    for (const auto& s : a.all("skill")) {
      const auto eq = s.find('=');
      if (eq == std::string::npos) throw UsageError("--skill expects name=min_level");
      auto* r = q->add_required_skills();
      r->set_name(s.substr(0, eq));
      try {
        r->set_min_level(std::stoi(s.substr(eq + 1)));
      } catch (const std::exception&) {
        throw UsageError("--skill expects name=min_level");
      }
    }
    mask.push_back("required_skills");
  }
  dur("sla", "service_level_threshold", [&] { return q->mutable_service_level_threshold(); });
  dur("no-answer-delay", "no_answer_delay", [&] { return q->mutable_no_answer_delay(); });
  dur("busy-delay", "busy_delay", [&] { return q->mutable_busy_delay(); });
  dur("reject-delay", "reject_delay", [&] { return q->mutable_reject_delay(); });
  num("auto-pause", "auto_pause_after_no_answers",
      [&](int v) { q->set_auto_pause_after_no_answers(v); });
  num("weight", "weight", [&](int v) { q->set_weight(v); });
  auto rule = [&](const char* flag, const char* field, auto setter) {
    if (auto v = a.get(flag)) {
      v1::EmptyQueueRule r;
      if (!v1::EmptyQueueRule_Parse("EMPTY_QUEUE_RULE_" + Upper(*v), &r) ||
          r == v1::EMPTY_QUEUE_RULE_UNSPECIFIED) {
        throw UsageError("--" + std::string(flag) + " expects routable, logged-in or always");
      }
      setter(r);
      mask.push_back(field);
    }
  };
  rule("join-empty", "join_empty", [&](v1::EmptyQueueRule r) { q->set_join_empty(r); });
  rule("leave-empty", "leave_empty", [&](v1::EmptyQueueRule r) { q->set_leave_empty(r); });
  dur("reoffer-delay", "reoffer_delay", [&] { return q->mutable_reoffer_delay(); });
  if (a.has("music")) {
    for (const auto& m : a.all("music")) q->add_music_prompts(m);
    mask.push_back("music_prompts");
  }
  // The opening hours are one field: any of their flags gives them whole.
  if (FillOpeningHours(a, q->mutable_opening_hours())) mask.push_back("opening_hours");
  // So are the announcements.
  if (a.has("greeting") || a.has("announce") || a.has("announce-first") ||
      a.has("announce-every") || a.has("language") || a.has("announce-position") ||
      a.has("announce-wait") || a.has("announce-busy")) {
    auto* an = q->mutable_announcements();
    for (const auto& p : a.all("greeting")) an->add_greeting(p);
    for (const auto& p : a.all("announce")) an->add_periodic(p);
    if (auto v = a.get("announce-first")) {
      cc::ToProto(ParseDuration("announce-first", *v), an->mutable_first_after());
    }
    if (auto v = a.get("announce-every")) {
      cc::ToProto(ParseDuration("announce-every", *v), an->mutable_every());
    }
    an->set_language(a.get("language").value_or(""));
    an->set_position(a.has("announce-position"));
    an->set_estimated_wait(a.has("announce-wait"));
    an->set_all_busy(a.has("announce-busy"));
    mask.push_back("announcements");
  }
  // The callback policy, given whole (--no-callback switches it off).
  if (a.has("callback") || a.has("no-callback")) {
    auto* cb = q->mutable_callback();
    cb->set_enabled(a.has("callback") && !a.has("no-callback"));
    if (auto v = a.get("callback-after")) {
      cc::ToProto(ParseDuration("callback-after", *v), cb->mutable_offer_after());
    }
    cb->set_key(a.get("callback-key").value_or(""));
    cb->set_trunk(a.get("callback-trunk").value_or(""));
    if (auto v = a.get("callback-ring")) {
      cc::ToProto(ParseDuration("callback-ring", *v), cb->mutable_ring_timeout());
    }
    cb->set_max_attempts(a.get_int("callback-attempts", 0));
    if (auto v = a.get("callback-retry")) {
      cc::ToProto(ParseDuration("callback-retry", *v), cb->mutable_retry_delay());
    }
    mask.push_back("callback");
  } else {
    for (const char* f : {"callback-after", "callback-key", "callback-trunk", "callback-ring",
                          "callback-attempts", "callback-retry"}) {
      if (a.has(f)) throw UsageError(std::string("--") + f + " goes with --callback");
    }
  }
  // The recording policy, given whole.
  if (a.has("recording") || a.has("recording-retention")) {
    v1::RecordingPolicy::Mode mode;
    const std::string m = a.get("recording").value_or("never");
    if (!v1::RecordingPolicy::Mode_Parse("MODE_" + Upper(m), &mode) ||
        mode == v1::RecordingPolicy::MODE_UNSPECIFIED) {
      throw UsageError("--recording is never, always or on-demand");
    }
    q->mutable_recording()->set_mode(mode);
    q->mutable_recording()->set_retention_days(a.get_int("recording-retention", 0));
    mask.push_back("recording");
  }
  if (a.has("expect-version")) q->set_version(a.get_int("expect-version", 0));
  return mask;
}

// "off", or the callback's key, offer, trunk and tries.
std::string CallbackPolicy(const v1::Queue& q) {
  const auto& cb = q.callback();
  if (!cb.enabled()) return "off";
  std::string out = "key " + cb.key();
  if (cc::FromProto(cb.offer_after()).count() > 0)
    out += ", offered after " + Secs(cb.offer_after());
  out += ", via " + (cb.trunk().empty() ? std::string("the edge's outbound proxy") : cb.trunk()) +
         ", rings " + Secs(cb.ring_timeout()) + ", " + std::to_string(cb.max_attempts()) +
         " tries " + Secs(cb.retry_delay()) + " apart";
  return out;
}

// "-", or the greeting and what the periodic announcement says how often.
std::string Announcements(const v1::Queue& q) {
  const auto& an = q.announcements();
  auto list = [](const auto& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
  };
  std::string out;
  if (!an.greeting().empty()) out += "greeting " + list(an.greeting());
  if (cc::FromProto(an.every()).count() > 0) {
    std::string says = list(an.periodic());
    if (an.position()) says += std::string(says.empty() ? "" : "+") + "position";
    if (an.all_busy()) says += std::string(says.empty() ? "" : "+") + "all-busy";
    if (an.estimated_wait()) says += std::string(says.empty() ? "" : "+") + "wait";
    out += std::string(out.empty() ? "" : "; ") + "every " + Secs(an.every()) + " after " +
           Secs(an.first_after()) + ": " + says + " (" + an.language() + ")";
  }
  return out.empty() ? "-" : out;
}

// "always open", or the zone, the week, the dates, whether open now (for a queue) and what
// happens if not.
std::string Hours(const v1::OpeningHours& h, std::optional<bool> open_now) {
  if (h.time_zone().empty() && h.weekly().empty() && h.dates().empty()) return "always open";
  std::string out = h.time_zone() + ":";
  for (const auto& w : h.weekly()) out += " " + w + ";";
  for (const auto& d : h.dates()) out += " " + d + ";";
  if (open_now) out += *open_now ? " OPEN now" : " CLOSED now";
  std::string prompts;
  for (const auto& p : h.closed_prompts()) prompts += (prompts.empty() ? "" : ",") + p;
  std::string then;
  if (!h.when_closed().queue().empty()) {
    then = "queue " + h.when_closed().queue();
  } else if (!h.closed_menu().empty()) {
    then = "menu " + h.closed_menu();
  } else if (!h.closed_uri().empty()) {
    then = "redirect to " + h.closed_uri();
  } else if (h.closed_callback()) {
    then = "callback at the next opening";
  } else {
    then = "hang up (" +
           (h.when_closed().hangup_reason().empty() ? std::string("closed")
                                                    : h.when_closed().hangup_reason()) +
           ")";
  }
  out +=
      "; when closed: " + (prompts.empty() ? std::string("en/closed") : prompts) + ", then " + then;
  return out;
}

void PrintQueue(const Globals& g, const v1::Queue& q) {
  if (g.json) {
    PrintJson(q);
    return;
  }
  std::string skills;
  for (const auto& s : q.required_skills()) {
    skills += (skills.empty() ? "" : ",") + s.name() + ">=" + std::to_string(s.min_level());
  }
  std::string overflow = q.overflow().queue().empty()
                             ? (q.overflow().hangup_reason().empty()
                                    ? "-"
                                    : "hang up (" + q.overflow().hangup_reason() + ")")
                             : "queue " + q.overflow().queue();
  std::cout << "name:             " << q.name()
            << (q.display_name().empty() ? "" : " (" + q.display_name() + ")") << "\n"
            << "strategy:         "
            << Strip(v1::RoutingStrategy_Name(q.strategy()), "ROUTING_STRATEGY_") << "\n"
            << "answer mode:      " << Strip(v1::AnswerMode_Name(q.answer_mode()), "ANSWER_MODE_")
            << "\n"
            << "ring timeout:     " << Secs(q.ring_timeout()) << "\n"
            << "max wait:         "
            << (cc::FromProto(q.max_wait()).count() ? Secs(q.max_wait()) : "-") << "\n"
            << "max waiting:      "
            << (q.max_waiting_calls() ? std::to_string(q.max_waiting_calls()) : "-") << "\n"
            << "max attempts:     " << (q.max_attempts() ? std::to_string(q.max_attempts()) : "-")
            << "\n"
            << "overflow:         " << overflow << "\n"
            << "re-queue boost:   " << q.requeue_priority_boost() << "\n"
            << "aging:            " << q.priority_aging_per_second() << "/s\n"
            << "wrap-up:          "
            << (q.has_wrap_up_seconds() ? std::to_string(q.wrap_up_seconds()) + "s" : "agent's own")
            << "\n"
            << "required skills:  " << (skills.empty() ? "-" : skills) << "\n"
            << "service level:    " << Secs(q.service_level_threshold()) << "\n"
            << "delays:           no-answer " << Secs(q.no_answer_delay()) << ", busy "
            << Secs(q.busy_delay()) << ", reject " << Secs(q.reject_delay()) << "\n"
            << "auto-pause after: "
            << (q.auto_pause_after_no_answers()
                    ? std::to_string(q.auto_pause_after_no_answers()) + " no-answers"
                    : "-")
            << "\n"
            << "weight:           " << q.weight() << "\n"
            << "re-offer delay:   " << Secs(q.reoffer_delay()) << " (same agent, same call)\n"
            << "callers join if:  "
            << Lower(Strip(v1::EmptyQueueRule_Name(q.join_empty()), "EMPTY_QUEUE_RULE_"))
            << "\ncallers stay if:  "
            << Lower(Strip(v1::EmptyQueueRule_Name(q.leave_empty()), "EMPTY_QUEUE_RULE_")) << "\n"
            << "opening hours:    " << Hours(q.opening_hours(), q.open_now()) << "\n"
            << "announcements:    " << Announcements(q) << "\n"
            << "callback:         " << CallbackPolicy(q) << "\n"
            << "recording:        "
            << Lower(Strip(v1::RecordingPolicy::Mode_Name(q.recording().mode()), "MODE_"))
            << (q.recording().retention_days() > 0
                    ? ", kept " + std::to_string(q.recording().retention_days()) + " days"
                    : "")
            << "\n"
            << "version:          " << q.version() << "\n";
}

int Create(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, kQueueFlags, kQueueBoolFlags);
  a.expect_positionals(1);
  v1::CreateQueueRequest req;
  req.mutable_queue()->set_name(a.positional(0, "queue name"));
  FillQueue(a, req.mutable_queue());
  v1::QueueResponse resp;
  Check(Stub(g)->CreateQueue(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp.queue());
  } else {
    std::cout << "created queue " << resp.queue().name() << "\n";
  }
  return 0;
}

int Update(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, kQueueFlags, kQueueBoolFlags);
  a.expect_positionals(1);
  v1::UpdateQueueRequest req;
  req.mutable_queue()->set_name(a.positional(0, "queue name"));
  for (const auto& f : FillQueue(a, req.mutable_queue())) req.add_update_mask(f);
  if (req.update_mask_size() == 0) throw UsageError("nothing to change: give at least one flag");
  v1::QueueResponse resp;
  Check(Stub(g)->UpdateQueue(Context(g).get(), req, &resp));
  PrintQueue(g, resp.queue());
  return 0;
}

int List(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(0);
  v1::ListQueuesResponse resp;
  Check(Stub(g)->ListQueues(Context(g).get(), {}, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"NAME", "STRATEGY", "ANSWER", "RING", "MAX WAIT", "OVERFLOW", "SKILLS"});
  for (const auto& q : resp.queues()) {
    std::string skills;
    for (const auto& s : q.required_skills()) {
      skills += (skills.empty() ? "" : ",") + s.name() + ">=" + std::to_string(s.min_level());
    }
    t.row({q.name(), Strip(v1::RoutingStrategy_Name(q.strategy()), "ROUTING_STRATEGY_"),
           Strip(v1::AnswerMode_Name(q.answer_mode()), "ANSWER_MODE_"), Secs(q.ring_timeout()),
           cc::FromProto(q.max_wait()).count() ? Secs(q.max_wait()) : "-",
           !q.overflow().queue().empty() ? q.overflow().queue()
                                         : (q.overflow().hangup_reason().empty() ? "-" : "hangup"),
           skills.empty() ? "-" : skills});
  }
  t.print();
  return 0;
}

int Show(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(1);
  v1::GetQueueRequest req;
  req.set_name(a.positional(0, "queue name"));
  v1::QueueResponse resp;
  Check(Stub(g)->GetQueue(Context(g).get(), req, &resp));
  PrintQueue(g, resp.queue());
  return 0;
}

int Delete(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(1);
  v1::DeleteQueueRequest req;
  req.set_name(a.positional(0, "queue name"));
  v1::DeleteQueueResponse resp;
  Check(Stub(g)->DeleteQueue(Context(g).get(), req, &resp));
  if (!g.json) std::cout << "deleted queue " << req.name() << "\n";
  if (g.json) PrintJson(resp);
  return 0;
}

int Stats(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {"window"}, {});
  a.expect_positionals(1);
  v1::GetQueueStatsRequest req;
  if (a.positional_count() == 1) req.set_queue(a.positional(0, "queue name"));
  if (auto w = a.get("window")) cc::ToProto(ParseDuration("window", *w), req.mutable_window());
  v1::GetQueueStatsResponse resp;
  Check(Stub(g)->GetQueueStats(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"QUEUE", "WAITING", "LONGEST", "AVAIL", "BUSY", "OFFERED", "ANSWERED", "ABANDONED",
           "SL%", "ASA", "AHT"});
  for (const auto& s : resp.stats()) {
    t.row({s.queue(), std::to_string(s.waiting()), Secs(s.longest_wait()),
           std::to_string(s.agents_available()), std::to_string(s.agents_busy()),
           std::to_string(s.offered()), std::to_string(s.answered()), std::to_string(s.abandoned()),
           std::to_string(static_cast<int>(std::round(s.service_level() * 100))),
           Secs(s.average_speed_of_answer()), Secs(s.average_handle_time())});
  }
  t.print();
  return 0;
}

int Members(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(1);
  v1::ListMembersRequest req;
  req.set_queue(a.positional(0, "queue name"));
  v1::ListMembersResponse resp;
  Check(Stub(g)->ListMembers(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"AGENT", "NAME", "POSITION", "STATUS", "ROUTABLE", "CALLS"});
  for (const auto& m : resp.members()) {
    t.row({m.agent_id(), m.display_name(), std::to_string(m.position()),
           Strip(v1::AgentStatus_Name(m.status()), "AGENT_STATUS_"), m.routable() ? "yes" : "no",
           std::to_string(m.active_calls())});
  }
  t.print();
  return 0;
}

int MemberAdd(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {"position"}, {});
  a.expect_positionals(2);
  v1::SetMemberRequest req;
  req.mutable_member()->set_queue(a.positional(0, "queue name"));
  req.mutable_member()->set_agent_id(a.positional(1, "agent id"));
  req.mutable_member()->set_position(a.get_int("position", 0));
  v1::MemberResponse resp;
  Check(Stub(g)->SetMember(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp.member());
  } else {
    std::cout << resp.member().agent_id() << " serves " << resp.member().queue() << " at position "
              << resp.member().position() << "\n";
  }
  return 0;
}

int MemberRemove(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(2);
  v1::RemoveMemberRequest req;
  req.set_queue(a.positional(0, "queue name"));
  req.set_agent_id(a.positional(1, "agent id"));
  v1::MemberResponse resp;
  Check(Stub(g)->RemoveMember(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp.member());
  } else {
    std::cout << req.agent_id() << " no longer serves " << req.queue() << "\n";
  }
  return 0;
}

int DialplanSet(const Globals& g, std::vector<std::string> argv) {
  std::vector<std::string> flags = kHoursFlags;
  flags.push_back("menu");
  Args a(argv, flags, {"closed-callback"});
  v1::SetDialplanEntryRequest req;
  req.mutable_entry()->set_pattern(a.positional(0, "number or name"));
  if (auto menu = a.get("menu")) {
    a.expect_positionals(1);
    req.mutable_entry()->set_menu(*menu);
  } else {
    a.expect_positionals(2);
    req.mutable_entry()->set_queue(a.positional(1, "queue name"));
  }
  FillOpeningHours(a, req.mutable_entry()->mutable_opening_hours());
  v1::DialplanResponse resp;
  Check(Stub(g)->SetDialplanEntry(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp.entry());
  } else {
    if (!resp.entry().menu().empty()) {
      std::cout << resp.entry().pattern() << " -> menu " << resp.entry().menu() << "\n";
    } else {
      std::cout << resp.entry().pattern() << " -> " << resp.entry().queue() << " ("
                << Hours(resp.entry().opening_hours(), std::nullopt) << ")\n";
    }
  }
  return 0;
}

int DialplanDelete(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(1);
  v1::DeleteDialplanEntryRequest req;
  req.set_pattern(a.positional(0, "number or name"));
  v1::DialplanResponse resp;
  Check(Stub(g)->DeleteDialplanEntry(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp.entry());
  } else {
    std::cout << "deleted " << resp.entry().pattern() << "\n";
  }
  return 0;
}

int DialplanList(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(0);
  v1::ListDialplanResponse resp;
  Check(Stub(g)->ListDialplan(Context(g).get(), {}, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"NUMBER/NAME", "QUEUE", "HOURS"});
  for (const auto& e : resp.entries()) {
    if (!e.menu().empty()) {
      t.row({e.pattern(), "menu " + e.menu(), "-"});
    } else {
      t.row({e.pattern(), e.queue(), Hours(e.opening_hours(), std::nullopt)});
    }
  }
  t.print();
  return 0;
}

}  // namespace

void RegisterQueueCommands() {
  auto& c = Commands();
  const std::string flags =
      "[--name N] [--strategy S] [--answer-mode M] [--ring-timeout D] [--max-wait D] "
      "[--max-waiting N] [--max-attempts N] [--overflow-queue Q | --overflow-hangup REASON] "
      "[--boost N] [--aging X] [--wrap-up S|agent] [--skill name=min]... [--sla D] "
      "[--no-answer-delay D] [--busy-delay D] [--reject-delay D] [--auto-pause N] [--weight N] "
      "[--music PROMPT]... [--join-empty R] [--leave-empty R] [--reoffer-delay D] "
      "[--time-zone TZ --hours 'DAYS HH:MM-HH:MM...'... --date 'YYYY-MM-DD closed|HH:MM-HH:MM'... "
      "--closed-queue Q | --closed-hangup REASON | --closed-menu M | --closed-uri SIP-URI | "
      "--closed-callback; --closed-prompt P...] "
      "[--greeting P... --announce-every D --announce-first D --announce P... "
      "--announce-position --announce-wait --announce-busy --language L] "
      "[--callback [--callback-key K] [--callback-after D] [--callback-trunk HOST:PORT] "
      "[--callback-ring D] [--callback-attempts N] [--callback-retry D] | --no-callback] "
      "[--recording never|always|on-demand [--recording-retention DAYS]]  "
      "(R: routable, logged-in or always: who must be there for callers to join / stay; the "
      "opening-hours flags give the hours whole, e.g. --time-zone Europe/Berlin --hours "
      "'mon-fri 08:00-18:00' --date '2026-12-25 closed'; --time-zone '' alone: always open)";
  c["queue create"] = {"queue create NAME " + flags, Create};
  c["queue update"] = {"queue update NAME " + flags + " [--expect-version V]", Update};
  c["queue list"] = {"queue list", List};
  c["queue show"] = {"queue show NAME", Show};
  c["queue delete"] = {"queue delete NAME", Delete};
  c["queue stats"] = {"queue stats [NAME] [--window D]", Stats};
  c["queue members"] = {"queue members NAME", Members};
  c["queue members add"] = {"queue members add NAME AGENT [--position N]", MemberAdd};
  c["queue members remove"] = {"queue members remove NAME AGENT", MemberRemove};
  c["dialplan set"] = {
      "dialplan set NUMBER|NAME QUEUE|--menu MENU [--time-zone TZ --hours 'DAYS HH:MM-HH:MM'... "
      "--date "
      "'YYYY-MM-DD closed|HH:MM-HH:MM'... --closed-queue Q | --closed-hangup REASON | "
      "--closed-menu M | --closed-uri SIP-URI | --closed-callback; --closed-prompt P...]  (the "
      "number's own hours, checked before its queue's)",
      DialplanSet};
  c["dialplan delete"] = {"dialplan delete NUMBER|NAME", DialplanDelete};
  c["dialplan list"] = {"dialplan list", DialplanList};
}

}  // namespace ccctl
