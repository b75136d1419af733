#ifndef RAVELIN_QUEUE_H
#define RAVELIN_QUEUE_H
int queue_main(void);
#endif
