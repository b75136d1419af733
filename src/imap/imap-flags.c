/* imap-flags: to be written */
