// ccctl calls: the calls queue-service holds, one call's record (its agent legs and
// transfers), and a blind transfer of a connected call.
#include <iostream>
#include <map>

#include "callcenter/v1/queue_service.grpc.pb.h"
#include "cli.h"

namespace ccctl {
namespace {

namespace v1 = callcenter::v1;

std::unique_ptr<v1::QueueService::Stub> Stub(const Globals& g) {
  return v1::QueueService::NewStub(Channel(g, "CC_QUEUE_SERVICE_GRPC", "127.0.0.1:50052"));
}

std::string When(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 ? "-" : FormatTimestamp(t.seconds());
}

int Calls(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {"queue", "state", "limit"}, {});
  a.expect_positionals(0);
  v1::ListCallsRequest req;
  req.set_queue(a.get("queue").value_or(""));
  for (const auto& s : a.all("state")) {
    v1::CallState st;
    if (!v1::CallState_Parse("CALL_STATE_" + Upper(s), &st)) {
      throw UsageError("unknown call state '" + s + "'");
    }
    req.add_states(st);
  }
  req.set_limit(a.get_int("limit", 0));
  v1::ListCallsResponse resp;
  Check(Stub(g)->ListCalls(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t(
      {"CALL", "QUEUE", "STATE", "CALLER", "PRIO", "AGENT", "ATTEMPTS", "WAITING", "EDGE", "DATA"});
  for (const auto& c : resp.calls()) {
    // What an IVR menu gathered: its digits, the caller's language, the call's own skills.
    std::map<std::string, std::string> sorted(c.data().begin(), c.data().end());
    std::string data;
    for (const auto& [k, v] : sorted) data += (data.empty() ? "" : " ") + k + "=" + v;
    if (!c.language().empty()) data += (data.empty() ? "" : " ") + ("lang=" + c.language());
    if (!c.callback_number().empty()) {
      data += (data.empty() ? "" : " ") + ("callback=" + c.callback_number() +
                                           " tries=" + std::to_string(c.callback_attempts()));
    }
    for (const auto& s : c.skills()) {
      data +=
          (data.empty() ? "" : " ") + ("skill=" + s.name() + ":" + std::to_string(s.min_level()));
    }
    t.row({c.id(), c.queue(), Strip(v1::CallState_Name(c.state()), "CALL_STATE_"), c.caller(),
           std::to_string(c.priority()), c.agent_id().empty() ? "-" : c.agent_id(),
           std::to_string(c.attempts()), Ago(c.enqueued_at().seconds()), c.edge_id(),
           data.empty() ? "-" : data});
  }
  t.print();
  return 0;
}

// One call: its state, then the chain of agent legs and the transfers between them.
int CallShow(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(1);
  v1::GetCallRequest req;
  req.set_call_id(a.positional(0, "call id"));
  req.set_with_history(true);
  v1::GetCallResponse resp;
  Check(Stub(g)->GetCall(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  const v1::Call& c = resp.call();
  std::cout << "call " << c.id() << "  " << Strip(v1::CallState_Name(c.state()), "CALL_STATE_")
            << "  queue " << c.queue() << "  caller " << (c.caller().empty() ? "-" : c.caller())
            << "\n";
  std::cout << "entered " << When(c.enqueued_at()) << "  ended " << When(c.ended_at())
            << (c.outcome_reason().empty() ? "" : "  (" + c.outcome_reason() + ")") << "\n";
  if (c.state() == v1::CALL_STATE_WAITING) {
    std::cout << "position " << resp.position() << "\n";
  }
  std::cout << "\nagent legs:\n";
  Table legs({"LEG", "AGENT", "QUEUE", "STATE", "OFFERED", "CONNECTED", "ENDED", "OUTCOME"});
  for (const auto& l : resp.legs()) {
    legs.row({std::to_string(l.assignment_id()), l.agent_id(), l.queue(), l.state(),
              When(l.offered_at()), When(l.connected_at()), When(l.ended_at()),
              l.outcome().empty() ? "-" : l.outcome()});
  }
  legs.print();
  if (!resp.monitors().empty()) {
    std::cout << "\nsupervisors:\n";
    Table m({"SESSION", "SUPERVISOR", "AGENT", "MODES", "STARTED", "ANSWERED", "ENDED", "WHY"});
    for (const auto& x : resp.monitors()) {
      std::string modes;
      for (const auto& change : x.modes()) {
        modes += (modes.empty() ? "" : ",") +
                 Lower(Strip(v1::MonitorMode_Name(change.mode()), "MONITOR_MODE_"));
      }
      m.row({std::to_string(x.id()), x.supervisor_id(), x.agent_id(), modes, When(x.started_at()),
             When(x.answered_at()), When(x.ended_at()),
             x.end_reason().empty() ? "-" : x.end_reason()});
    }
    m.print();
  }
  if (!resp.recordings().empty()) {
    std::cout << "\nrecordings:\n";
    Table r({"FILE", "AGENT", "STARTED", "ENDED", "PAUSED", "KEPT UNTIL", "BY"});
    for (const auto& x : resp.recordings()) {
      std::string paused;
      for (const auto& p : x.pauses()) {
        paused += (paused.empty() ? "" : ",") + When(p.paused_at()) + "-" + When(p.resumed_at());
      }
      r.row({x.path() + (x.deleted() ? " (deleted)" : ""), x.agent_id(), When(x.started_at()),
             When(x.ended_at()), paused.empty() ? "-" : paused,
             x.keep_until().empty() ? "for ever" : x.keep_until(),
             x.started_by().empty() ? "-" : x.started_by()});
    }
    r.print();
  }
  if (resp.transfers().empty()) return 0;
  std::cout << "\ntransfers:\n";
  Table t({"FROM", "TO", "BY", "AT", "RESULT", "TAKEN BY", "DETAIL"});
  for (const auto& x : resp.transfers()) {
    const std::string to = x.to_queue().empty() ? "agent " + x.to_agent() : "queue " + x.to_queue();
    t.row({x.from_agent_id() + " (leg " + std::to_string(x.from_assignment_id()) + ")", to,
           x.requested_by().empty() ? "-" : x.requested_by(), When(x.requested_at()),
           Strip(v1::TransferResult_Name(x.result()), "TRANSFER_RESULT_"),
           x.taken_by().empty() ? "-" : x.taken_by(), x.detail().empty() ? "-" : x.detail()});
  }
  t.print();
  return 0;
}

int CallTransfer(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {"queue", "agent", "number", "on-failure", "leg"}, {});
  a.expect_positionals(1);
  v1::TransferCallRequest req;
  req.set_call_id(a.positional(0, "call id"));
  req.set_to_queue(a.get("queue").value_or(""));
  req.set_to_agent(a.get("agent").value_or(""));
  req.set_to_number(a.get("number").value_or(""));
  const int targets = a.has("queue") + a.has("agent") + a.has("number");
  if (targets != 1) throw UsageError("give one target: --queue Q, --agent A or --number N");
  req.set_assignment_id(a.get_int("leg", 0));
  const std::string fallback = a.get("on-failure").value_or("return-to-agent");
  v1::TransferFallback f;
  if (!v1::TransferFallback_Parse("TRANSFER_FALLBACK_" + Upper(fallback), &f) ||
      f == v1::TRANSFER_FALLBACK_UNSPECIFIED) {
    throw UsageError("--on-failure is return-to-agent or queue");
  }
  req.set_on_failure(f);
  v1::TransferCallResponse resp;
  Check(Stub(g)->TransferCall(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  const auto& t = resp.transfer();
  std::cout << "call " << resp.call().id() << " transferred from " << t.from_agent_id() << " to "
            << (t.to_queue().empty() ? "agent " + t.to_agent() : "queue " + t.to_queue()) << " ("
            << Strip(v1::CallState_Name(resp.call().state()), "CALL_STATE_") << ")\n";
  return 0;
}

// A supervisor into a connected call, in a mode; again with another mode to switch.
int CallMonitor(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {"supervisor", "mode"}, {});
  a.expect_positionals(1);
  v1::MonitorCallRequest req;
  req.set_call_id(a.positional(0, "call id"));
  const auto supervisor = a.get("supervisor");
  if (!supervisor) throw UsageError("--supervisor AGENT is required");
  req.set_supervisor_id(*supervisor);
  v1::MonitorMode mode;
  if (!v1::MonitorMode_Parse("MONITOR_MODE_" + Upper(a.get("mode").value_or("listen")), &mode) ||
      mode == v1::MONITOR_MODE_UNSPECIFIED) {
    throw UsageError("--mode is listen, whisper or barge");
  }
  req.set_mode(mode);
  v1::MonitorCallResponse resp;
  Check(Stub(g)->MonitorCall(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  std::cout << "session " << resp.session().id() << ": " << resp.session().supervisor_id() << " "
            << Lower(Strip(v1::MonitorMode_Name(resp.session().mode()), "MONITOR_MODE_"))
            << " on call " << resp.session().call_id() << " (agent " << resp.session().agent_id()
            << ")\n";
  return 0;
}

int CallMonitorStop(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(1);
  v1::StopMonitorRequest req;
  try {
    req.set_session_id(std::stoll(a.positional(0, "session id")));
  } catch (const std::exception&) {
    throw UsageError("the session id is a number (ccctl calls show CALL lists them)");
  }
  v1::StopMonitorResponse resp;
  Check(Stub(g)->StopMonitor(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  std::cout << "session " << resp.session().id() << " ended (" << resp.session().end_reason()
            << ")\n";
  return 0;
}

int CallRecord(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(2);
  v1::RecordCallRequest req;
  req.set_call_id(a.positional(0, "call id"));
  v1::RecordingAction action;
  const std::string what = a.positional(1, "start, pause, resume or stop");
  if (!v1::RecordingAction_Parse("RECORDING_ACTION_" + Upper(what), &action) ||
      action == v1::RECORDING_ACTION_UNSPECIFIED) {
    throw UsageError("the action is start, pause, resume or stop");
  }
  req.set_action(action);
  v1::RecordCallResponse resp;
  Check(Stub(g)->RecordCall(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  std::cout << "recording of call " << req.call_id() << ": " << what << "\n";
  return 0;
}

int Supervisors(const Globals& g, std::vector<std::string> argv, int op) {
  Args a(argv, {}, {});
  a.expect_positionals(op == 0 ? 1 : 2);
  v1::SupervisorsResponse resp;
  if (op == 0) {
    v1::ListSupervisorsRequest req;
    req.set_queue(a.positional(0, "queue"));
    Check(Stub(g)->ListSupervisors(Context(g).get(), req, &resp));
  } else {
    v1::SupervisorRequest req;
    req.set_queue(a.positional(0, "queue"));
    req.set_agent_id(a.positional(1, "agent"));
    Check(op > 0 ? Stub(g)->AddSupervisor(Context(g).get(), req, &resp)
                 : Stub(g)->RemoveSupervisor(Context(g).get(), req, &resp));
  }
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  std::cout << "supervisors of " << resp.queue() << ":";
  for (const auto& id : resp.agent_ids()) std::cout << " " << id;
  std::cout << (resp.agent_ids().empty() ? " none\n" : "\n");
  return 0;
}

}  // namespace

void RegisterCallCommands() {
  auto& c = Commands();
  c["calls"] = {"calls [--queue Q] [--state S]... [--limit N]  (default: waiting and active)",
                Calls};
  c["calls show"] = {"calls show CALL  (its agent legs and transfers)", CallShow};
  c["calls transfer"] = {
      "calls transfer CALL --queue Q | --agent A | --number N [--on-failure "
      "return-to-agent|queue] [--leg ASSIGNMENT]  (blind: the agent's leg ends; to a queue the "
      "caller keeps the first place; a named agent is rung at once, and if that agent does not "
      "answer the call goes back to the first agent or to the queue)",
      CallTransfer};
  c["calls monitor"] = {
      "calls monitor CALL --supervisor AGENT [--mode listen|whisper|barge]  (the supervisor's "
      "phone is rung and mixed in: listen hears both, whisper is heard by the agent alone, barge "
      "by everyone; again with another mode to switch)",
      CallMonitor};
  c["calls monitor stop"] = {"calls monitor stop SESSION", CallMonitorStop};
  c["calls record"] = {
      "calls record CALL start|pause|resume|stop  (the queue must record always or on demand; "
      "paused spans are silence in the file; ccctl calls show CALL lists the files)",
      CallRecord};
  c["queue supervisors"] = {
      "queue supervisors QUEUE",
      [](const Globals& g, std::vector<std::string> a) { return Supervisors(g, std::move(a), 0); }};
  c["queue supervisors add"] = {
      "queue supervisors add QUEUE AGENT  (may monitor its calls)",
      [](const Globals& g, std::vector<std::string> a) { return Supervisors(g, std::move(a), 1); }};
  c["queue supervisors remove"] = {"queue supervisors remove QUEUE AGENT",
                                   [](const Globals& g, std::vector<std::string> a) {
                                     return Supervisors(g, std::move(a), -1);
                                   }};
}

}  // namespace ccctl
