#include "media_relay/app.h"

int main(int argc, char** argv) {
  return cc::relay::RunMediaRelay(argc, argv);
}
