#ifndef RAVELIN_AUTH_H
#define RAVELIN_AUTH_H
int auth_main(void);
#endif
