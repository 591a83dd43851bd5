// ccctl ivr: IVR menus from YAML files (import), and back (show), listed and deleted.
#include <fstream>
#include <iostream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "callcenter/v1/queue_service.grpc.pb.h"
#include "cli.h"
#include "common/proto_convert.h"
#include "menu_yaml.h"

namespace ccctl {
namespace {

namespace v1 = callcenter::v1;

std::unique_ptr<v1::QueueService::Stub> Stub(const Globals& g) {
  return v1::QueueService::NewStub(Channel(g, "CC_QUEUE_SERVICE_GRPC", "127.0.0.1:50052"));
}

std::string Seconds(const google::protobuf::Duration& d) {
  const auto ms = cc::FromProto(d).count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

void EmitStrings(YAML::Emitter& y, const char* key,
                 const google::protobuf::RepeatedPtrField<std::string>& list) {
  if (list.empty()) return;
  y << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : list) y << s;
  y << YAML::EndSeq;
}

void EmitAction(YAML::Emitter& y, const v1::MenuAction& a) {
  if (a.has_repeat() && a.language().empty()) {
    y << "repeat";
    return;
  }
  y << YAML::Flow << YAML::BeginMap;
  switch (a.action_case()) {
    case v1::MenuAction::kQueue:
      y << YAML::Key << "queue" << YAML::Value << a.queue().queue();
      if (a.queue().priority() != 0) {
        y << YAML::Key << "priority" << YAML::Value << a.queue().priority();
      }
      if (!a.queue().skills().empty()) {
        y << YAML::Key << "skills" << YAML::Value << YAML::BeginMap;
        for (const auto& s : a.queue().skills()) {
          y << YAML::Key << s.name() << YAML::Value << s.min_level();
        }
        y << YAML::EndMap;
      }
      if (a.queue().language_skill()) y << YAML::Key << "language_skill" << YAML::Value << true;
      break;
    case v1::MenuAction::kMenu:
      y << YAML::Key << "menu" << YAML::Value << a.menu();
      break;
    case v1::MenuAction::kRepeat:
      y << YAML::Key << "repeat" << YAML::Value << true;
      break;
    case v1::MenuAction::kHangup:
      y << YAML::Key << "hangup" << YAML::Value << YAML::BeginMap;
      EmitStrings(y, "prompts", a.hangup().prompts());
      y << YAML::Key << "reason" << YAML::Value << a.hangup().reason() << YAML::EndMap;
      break;
    case v1::MenuAction::kTransferUri:
      y << YAML::Key << "transfer" << YAML::Value << a.transfer_uri();
      break;
    case v1::MenuAction::kCallback:
      y << YAML::Key << "callback" << YAML::Value << a.callback();
      break;
    case v1::MenuAction::ACTION_NOT_SET:
      break;
  }
  if (!a.language().empty()) y << YAML::Key << "language" << YAML::Value << a.language();
  y << YAML::EndMap;
}

// A menu as `ivr import` reads it.
void EmitMenu(YAML::Emitter& y, const v1::Menu& m) {
  y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << m.name();
  if (!m.language().empty()) y << YAML::Key << "language" << YAML::Value << m.language();
  EmitStrings(y, "prompts", m.prompts());
  if (!m.options().empty()) {
    y << YAML::Key << "options" << YAML::Value << YAML::BeginMap;
    std::map<std::string, v1::MenuAction> sorted(m.options().begin(), m.options().end());
    for (const auto& [key, a] : sorted) {
      y << YAML::Key << YAML::DoubleQuoted << key << YAML::Value;
      EmitAction(y, a);
    }
    y << YAML::EndMap;
  }
  if (m.has_collect()) {
    const auto& c = m.collect();
    y << YAML::Key << "collect" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << c.name();
    y << YAML::Key << "min" << YAML::Value << c.min_digits();
    y << YAML::Key << "max" << YAML::Value << c.max_digits();
    y << YAML::Key << "terminator" << YAML::Value << YAML::DoubleQuoted << c.terminator();
    y << YAML::Key << "timeout" << YAML::Value << Seconds(c.digit_timeout());
    y << YAML::Key << "then" << YAML::Value;
    EmitAction(y, c.then());
    y << YAML::EndMap;
  }
  y << YAML::Key << "timeout" << YAML::Value << Seconds(m.timeout());
  y << YAML::Key << "max_attempts" << YAML::Value << m.max_attempts();
  EmitStrings(y, "invalid_prompts", m.invalid_prompts());
  EmitStrings(y, "timeout_prompts", m.timeout_prompts());
  y << YAML::Key << "on_failure" << YAML::Value;
  EmitAction(y, m.on_failure());
  y << YAML::EndMap;
}

void PrintYaml(const std::vector<const v1::Menu*>& menus) {
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "menus" << YAML::Value << YAML::BeginSeq;
  for (const auto* m : menus) EmitMenu(y, *m);
  y << YAML::EndSeq << YAML::EndMap;
  std::cout << y.c_str() << "\n";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Import(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {"dry-run"});
  a.expect_positionals(1);
  const std::string path = a.positional(0, "YAML file");
  const std::string text = ReadFile(path);
  // Menus stored already may be named by the file's actions.
  std::vector<std::string> stored;
  if (!a.has("dry-run")) {
    v1::ListMenusResponse list;
    Check(Stub(g)->ListMenus(Context(g).get(), {}, &list));
    for (const auto& m : list.menus()) stored.push_back(m.name());
  }
  MenuFile file;
  try {
    file = ParseMenuYaml(text, stored);
  } catch (const MenuYamlError& e) {
    std::cerr << path << ":" << e.line << ": " << e.what() << "\n";
    return 1;
  }
  if (a.has("dry-run")) {
    std::cout << path << ": " << file.menus.size() << " menus, well formed\n";
    return 0;
  }
  v1::ImportMenusRequest req;
  for (const auto& m : file.menus) *req.add_menus() = m;
  v1::ImportMenusResponse resp;
  const grpc::Status s = Stub(g)->ImportMenus(Context(g).get(), req, &resp);
  if (!s.ok()) {
    // The server's word on what the file cannot know (a queue that does not exist), with
    // the line it concerns.
    const int line = file.line_of(s.error_message());
    std::cerr << path << ":" << (line ? line : 1) << ": " << s.error_message() << "\n";
    return 1;
  }
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  for (const auto& m : resp.menus()) {
    std::cout << "imported menu " << m.name() << " (version " << m.version() << ")\n";
  }
  return 0;
}

int Show(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  if (a.positional_count() > 1) throw UsageError("ivr show [NAME]");
  v1::ListMenusResponse all;
  if (a.positional_count() == 1) {
    v1::GetMenuRequest req;
    req.set_name(a.positional(0, "menu name"));
    v1::MenuResponse resp;
    Check(Stub(g)->GetMenu(Context(g).get(), req, &resp));
    *all.add_menus() = resp.menu();
  } else {
    Check(Stub(g)->ListMenus(Context(g).get(), {}, &all));
  }
  if (g.json) {
    PrintJson(all);
    return 0;
  }
  std::vector<const v1::Menu*> menus;
  for (const auto& m : all.menus()) menus.push_back(&m);
  PrintYaml(menus);
  return 0;
}

int List(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(0);
  v1::ListMenusResponse resp;
  Check(Stub(g)->ListMenus(Context(g).get(), {}, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"MENU", "KIND", "KEYS", "LANGUAGE", "VERSION"});
  for (const auto& m : resp.menus()) {
    std::string keys;
    std::map<std::string, v1::MenuAction> sorted(m.options().begin(), m.options().end());
    for (const auto& [k, act] : sorted) keys += k;
    t.row({m.name(), m.has_collect() ? "collect " + m.collect().name() : "options",
           keys.empty() ? "-" : keys, m.language().empty() ? "-" : m.language(),
           std::to_string(m.version())});
  }
  t.print();
  return 0;
}

int Delete(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {}, {});
  a.expect_positionals(1);
  v1::DeleteMenuRequest req;
  req.set_name(a.positional(0, "menu name"));
  v1::DeleteMenuResponse resp;
  Check(Stub(g)->DeleteMenu(Context(g).get(), req, &resp));
  if (!g.json) std::cout << "deleted menu " << req.name() << "\n";
  return 0;
}

}  // namespace

void RegisterIvrCommands() {
  auto& c = Commands();
  c["ivr import"] = {
      "ivr import FILE.yaml [--dry-run]  (every menu of the file, all or none; docs/ivr.md)",
      Import};
  c["ivr show"] = {"ivr show [NAME]  (as YAML that ivr import reads)", Show};
  c["ivr list"] = {"ivr list", List};
  c["ivr delete"] = {"ivr delete NAME  (refused while a number or a menu leads to it)", Delete};
}

}  // namespace ccctl
