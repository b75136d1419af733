/* imap-login: to be written */
