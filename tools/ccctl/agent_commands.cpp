// ccctl agent ...: the AgentRegistry commands.
#include <iostream>

#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "cli.h"

namespace ccctl {
namespace {

namespace v1 = callcenter::v1;

const char* kRegistryKey = "CC_AGENT_REGISTRY_GRPC";
const char* kRegistryDefault = "127.0.0.1:50051";

std::unique_ptr<v1::AgentRegistry::Stub> Stub(const Globals& g) {
  return v1::AgentRegistry::NewStub(Channel(g, kRegistryKey, kRegistryDefault));
}

std::string StatusName(v1::AgentStatus s) {
  std::string n = v1::AgentStatus_Name(s);
  const std::string prefix = "AGENT_STATUS_";
  return n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
}

v1::AgentStatus ParseStatus(const std::string& text) {
  std::string up;
  for (char c : text) up.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  v1::AgentStatus s;
  if (!v1::AgentStatus_Parse("AGENT_STATUS_" + up, &s) || s == v1::AGENT_STATUS_UNSPECIFIED) {
    throw UsageError("unknown status '" + text +
                     "' (logged_out, available, reserved, on_call, wrap_up, paused)");
  }
  return s;
}

void ParseSkill(const std::string& text, v1::Skill* out) {
  const auto eq = text.find('=');
  if (eq == std::string::npos) throw UsageError("--skill expects name=level, got '" + text + "'");
  out->set_name(text.substr(0, eq));
  try {
    out->set_level(std::stoi(text.substr(eq + 1)));
  } catch (const std::exception&) {
    throw UsageError("--skill level must be a number in '" + text + "'");
  }
}

void ParseQueue(const std::string& text, v1::QueueMembership* out) {
  const auto colon = text.find(':');
  out->set_queue(text.substr(0, colon));
  if (colon != std::string::npos) {
    try {
      out->set_position(std::stoi(text.substr(colon + 1)));
    } catch (const std::exception&) {
      throw UsageError("--queue expects name[:position], got '" + text + "'");
    }
  }
}

std::string Skills(const v1::Agent& a) {
  std::string out;
  for (const auto& s : a.skills()) {
    out += (out.empty() ? "" : ",") + s.name() + "=" + std::to_string(s.level());
  }
  return out.empty() ? "-" : out;
}

std::string Queues(const v1::Agent& a) {
  std::string out;
  for (const auto& q : a.queues()) {
    out += (out.empty() ? "" : ",") + q.queue() +
           (q.position() ? ":" + std::to_string(q.position()) : "");
  }
  return out.empty() ? "-" : out;
}

void PrintAgent(const Globals& g, const v1::Agent& a) {
  if (g.json) {
    PrintJson(a);
    return;
  }
  std::cout << "id:            " << a.id() << "\n"
            << "name:          " << a.display_name() << "\n"
            << "sip username:  " << a.sip_username() << " (realm " << a.realm() << ")\n"
            << "status:        " << StatusName(a.status())
            << (a.pause_reason().empty() ? "" : " (" + a.pause_reason() + ")") << " for "
            << Ago(a.status_changed_at().seconds()) << "\n"
            << "routable:      " << (a.routable() ? "yes" : "no") << " (" << a.binding_count()
            << " binding" << (a.binding_count() == 1 ? "" : "s") << ")\n"
            << "skills:        " << Skills(a) << "\n"
            << "queues:        " << Queues(a) << "\n"
            << "max calls:     " << a.max_calls() << "\n"
            << "wrap-up:       " << a.wrap_up_seconds() << "s\n"
            << "version:       " << a.version() << "\n";
}

int Create(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {"name", "user", "password", "ha1", "skill", "queue", "max-calls", "wrap-up"},
            {});
  args.expect_positionals(1);
  v1::CreateAgentRequest req;
  req.set_id(args.positional(0, "agent id"));
  req.set_display_name(args.get("name").value_or(req.id()));
  req.set_sip_username(args.get("user").value_or(req.id()));
  if (auto p = args.get("password")) req.set_password(*p);
  if (auto h = args.get("ha1")) req.set_ha1(*h);
  for (const auto& s : args.all("skill")) ParseSkill(s, req.add_skills());
  for (const auto& q : args.all("queue")) ParseQueue(q, req.add_queues());
  req.set_max_calls(args.get_int("max-calls", 0));
  if (args.has("wrap-up")) req.set_wrap_up_seconds(args.get_int("wrap-up", 0));
  v1::CreateAgentResponse resp;
  Check(Stub(g)->CreateAgent(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp.agent());
  } else {
    std::cout << "created agent " << resp.agent().id() << "\n";
  }
  return 0;
}

int List(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {"status", "queue", "page-size"}, {"routable"});
  args.expect_positionals(0);
  v1::ListAgentsRequest req;
  for (const auto& s : args.all("status")) req.add_statuses(ParseStatus(s));
  req.set_queue(args.get("queue").value_or(""));
  req.set_routable_only(args.has("routable"));
  req.set_page_size(args.get_int("page-size", 500));
  v1::ListAgentsResponse all;
  auto stub = Stub(g);
  do {
    v1::ListAgentsResponse page;
    Check(stub->ListAgents(Context(g).get(), req, &page));
    for (const auto& a : page.agents()) *all.add_agents() = a;
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  if (g.json) {
    PrintJson(all);
    return 0;
  }
  Table t({"ID", "NAME", "SIP USER", "STATUS", "SINCE", "ROUTABLE", "QUEUES", "SKILLS"});
  for (const auto& a : all.agents()) {
    t.row({a.id(), a.display_name(), a.sip_username(),
           StatusName(a.status()) + (a.pause_reason().empty() ? "" : "(" + a.pause_reason() + ")"),
           Ago(a.status_changed_at().seconds()),
           a.routable() ? "yes(" + std::to_string(a.binding_count()) + ")" : "no", Queues(a),
           Skills(a)});
  }
  t.print();
  return 0;
}

int Show(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {}, {});
  args.expect_positionals(1);
  v1::GetAgentRequest req;
  req.set_id(args.positional(0, "agent id"));
  v1::GetAgentResponse resp;
  Check(Stub(g)->GetAgent(Context(g).get(), req, &resp));
  PrintAgent(g, resp.agent());
  return 0;
}

int Update(const Globals& g, std::vector<std::string> argv) {
  Args args(argv,
            {"name", "password", "ha1", "skill", "queue", "max-calls", "wrap-up", "expect-version"},
            {"clear-skills", "clear-queues"});
  args.expect_positionals(1);
  v1::UpdateAgentRequest req;
  req.set_id(args.positional(0, "agent id"));
  if (auto v = args.get("name")) req.set_display_name(*v);
  if (auto v = args.get("password")) req.set_password(*v);
  if (auto v = args.get("ha1")) req.set_ha1(*v);
  if (args.has("skill") || args.has("clear-skills")) {
    auto* list = req.mutable_skills();
    for (const auto& s : args.all("skill")) ParseSkill(s, list->add_skills());
  }
  if (args.has("queue") || args.has("clear-queues")) {
    auto* list = req.mutable_queues();
    for (const auto& q : args.all("queue")) ParseQueue(q, list->add_queues());
  }
  if (args.has("max-calls")) req.set_max_calls(args.get_int("max-calls", 1));
  if (args.has("wrap-up")) req.set_wrap_up_seconds(args.get_int("wrap-up", 0));
  if (args.has("expect-version")) req.set_expected_version(args.get_int("expect-version", 0));
  v1::UpdateAgentResponse resp;
  Check(Stub(g)->UpdateAgent(Context(g).get(), req, &resp));
  PrintAgent(g, resp.agent());
  return 0;
}

int Delete(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {}, {});
  args.expect_positionals(1);
  v1::DeleteAgentRequest req;
  req.set_id(args.positional(0, "agent id"));
  v1::DeleteAgentResponse resp;
  Check(Stub(g)->DeleteAgent(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
  } else {
    std::cout << "deleted agent " << req.id() << "\n";
  }
  return 0;
}

int PrintStatus(const Globals& g, const v1::StatusChangeResponse& resp) {
  if (g.json) {
    PrintJson(resp.agent());
  } else {
    const auto& a = resp.agent();
    std::cout << a.id() << " is " << StatusName(a.status())
              << (a.pause_reason().empty() ? "" : " (" + a.pause_reason() + ")") << "\n";
  }
  return 0;
}

int Login(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {"paused"}, {});
  args.expect_positionals(1);
  v1::LoginRequest req;
  req.set_id(args.positional(0, "agent id"));
  if (auto r = args.get("paused")) {
    req.set_paused(true);
    req.set_pause_reason(*r);
  }
  v1::StatusChangeResponse resp;
  Check(Stub(g)->Login(Context(g).get(), req, &resp));
  return PrintStatus(g, resp);
}

int Logout(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {"reason"}, {});
  args.expect_positionals(1);
  v1::LogoutRequest req;
  req.set_id(args.positional(0, "agent id"));
  req.set_reason(args.get("reason").value_or(""));
  v1::StatusChangeResponse resp;
  Check(Stub(g)->Logout(Context(g).get(), req, &resp));
  return PrintStatus(g, resp);
}

int Pause(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {"reason"}, {});
  args.expect_positionals(1);
  v1::PauseRequest req;
  req.set_id(args.positional(0, "agent id"));
  auto reason = args.get("reason");
  if (!reason) throw UsageError("pause needs --reason");
  req.set_reason(*reason);
  v1::StatusChangeResponse resp;
  Check(Stub(g)->Pause(Context(g).get(), req, &resp));
  return PrintStatus(g, resp);
}

int Unpause(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {}, {});
  args.expect_positionals(1);
  v1::UnpauseRequest req;
  req.set_id(args.positional(0, "agent id"));
  v1::StatusChangeResponse resp;
  Check(Stub(g)->Unpause(Context(g).get(), req, &resp));
  return PrintStatus(g, resp);
}

int Bindings(const Globals& g, std::vector<std::string> argv) {
  Args args(argv, {}, {});
  args.expect_positionals(1);
  v1::ListBindingsRequest req;
  if (args.positional_count() == 1) req.set_agent_id(args.positional(0, "agent id"));
  v1::ListBindingsResponse resp;
  Check(Stub(g)->ListBindings(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"AGENT", "CONTACT", "TRANSPORT", "SOURCE", "USER AGENT", "EXPIRES"});
  for (const auto& b : resp.bindings()) {
    std::string transport = v1::SipTransport_Name(b.transport());
    transport = transport.substr(transport.rfind('_') + 1);
    t.row({b.agent_id(), b.contact_uri(), transport,
           b.source_address() + ":" + std::to_string(b.source_port()),
           b.user_agent().empty() ? "-" : b.user_agent(), Ago(b.expires_at().seconds())});
  }
  t.print();
  return 0;
}

}  // namespace

void RegisterAgentCommands() {
  auto& c = Commands();
  c["agent create"] = {
      "agent create ID [--name N] [--user SIPUSER] (--password P | --ha1 HEX) "
      "[--skill name=level]... [--queue name[:pos]]... [--max-calls N] [--wrap-up S]",
      Create};
  c["agent list"] = {"agent list [--status S]... [--queue Q] [--routable]", List};
  c["agent show"] = {"agent show ID", Show};
  c["agent update"] = {
      "agent update ID [--name N] [--password P | --ha1 HEX] [--skill name=level]... "
      "[--clear-skills] [--queue name[:pos]]... [--clear-queues] [--max-calls N] [--wrap-up S] "
      "[--expect-version V]",
      Update};
  c["agent delete"] = {"agent delete ID", Delete};
  c["agent login"] = {"agent login ID [--paused REASON]", Login};
  c["agent logout"] = {"agent logout ID [--reason R]", Logout};
  c["agent pause"] = {"agent pause ID --reason R", Pause};
  c["agent unpause"] = {"agent unpause ID", Unpause};
  c["agent bindings"] = {"agent bindings [ID]", Bindings};
}

}  // namespace ccctl
