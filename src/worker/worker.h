#ifndef RAVELIN_WORKER_H
#define RAVELIN_WORKER_H
#include <stdint.h>
int worker_main(uint64_t account);
#endif
