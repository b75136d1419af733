#ifndef RAVELIN_QUEUE_H
#define RAVELIN_QUEUE_H
int queue_main(void);
/* queue_take (in the queue process) loads a message just committed to the
 * spool, a bounce say, and delivers it like one received. */
void queue_take(const char *qid);
#endif
