#include "signaling_edge/app.h"

int main(int argc, char** argv) {
  return cc::edge::RunSignalingEdge(argc, argv);
}
