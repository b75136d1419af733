/* imap-thread: to be written */
