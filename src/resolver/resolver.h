#ifndef RAVELIN_RESOLVER_H
#define RAVELIN_RESOLVER_H
/* resolver: the one process that speaks DNS (see resolver.c). */

/* resolver_main runs the role "resolver" under master; the exit status. */
int resolver_main(void);

#endif
