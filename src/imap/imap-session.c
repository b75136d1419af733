/* imap-session: to be written */
