// ccctl: the admin CLI of the call engine. See `ccctl help`.
#include <iostream>

#include "cli.h"

namespace {

void Usage(std::ostream& out) {
  out << "usage: ccctl [--server HOST:PORT] [--token-file FILE] [--json] [--timeout MS] <command> "
         "[args]\n\n"
         "Servers default to the local stack's env file (deploy/local/stack.env, or\n"
         "$CC_ENV_FILE); --server overrides the service the command talks to. The bearer\n"
         "token sent is read from --token-file, else $CC_API_TOKEN_FILE (the env file's,\n"
         "relative to the checkout: the local stack's admin token).\n\n"
         "commands:\n";
  for (const auto& [name, info] : ccctl::Commands()) out << "  " << info.usage << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  ccctl::RegisterAgentCommands();
  ccctl::RegisterQueueCommands();
  ccctl::RegisterEdgeCommands();
  ccctl::RegisterIvrCommands();
  ccctl::RegisterCallCommands();
  ccctl::Globals g;
  std::vector<std::string> words;
  try {
    int i = 1;
    for (; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--json") {
        g.json = true;
      } else if (a == "--server" || a == "--timeout" || a == "--token-file") {
        if (i + 1 >= argc) throw ccctl::UsageError(a + " needs a value");
        std::string v = argv[++i];
        if (a == "--server") {
          g.server = v;
        } else if (a == "--token-file") {
          g.token_file = v;
        } else {
          try {
            g.timeout_ms = std::stoi(v);
          } catch (const std::exception&) {
            throw ccctl::UsageError("--timeout expects milliseconds");
          }
        }
      } else if (a.rfind("--server=", 0) == 0) {
        g.server = a.substr(9);
      } else if (a == "-h" || a == "--help" || a == "help") {
        Usage(std::cout);
        return 0;
      } else {
        break;
      }
    }
    for (; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--json") {
        g.json = true;  // also accepted after the command
      } else {
        words.push_back(a);
      }
    }
    if (words.empty()) {
      Usage(std::cerr);
      return 2;
    }
    ccctl::LoadToken(g);
    // The longest registered prefix of the words names the command ("agent create").
    for (size_t n = std::min<size_t>(words.size(), 3); n >= 1; --n) {
      std::string name;
      for (size_t k = 0; k < n; ++k) name += (k ? " " : "") + words[k];
      auto it = ccctl::Commands().find(name);
      if (it != ccctl::Commands().end()) {
        return it->second.run(
            g, std::vector<std::string>(words.begin() + static_cast<long>(n), words.end()));
      }
    }
    throw ccctl::UsageError("unknown command '" + words[0] +
                            (words.size() > 1 ? " " + words[1] : "") + "'; see ccctl help");
  } catch (const ccctl::UsageError& e) {
    std::cerr << "ccctl: " << e.what() << "\n";
    return 2;
  } catch (const ccctl::RpcError& e) {
    std::cerr << "ccctl: " << e.what() << "\n";
    return 1;
  }
}
