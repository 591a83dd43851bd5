#include "queue_service/app.h"

int main(int argc, char** argv) {
  return cc::queue::RunQueueService(argc, argv);
}
