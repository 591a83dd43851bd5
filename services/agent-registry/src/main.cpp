#include "agent_registry/app.h"

int main(int argc, char** argv) {
  return cc::registry::RunAgentRegistry(argc, argv);
}
