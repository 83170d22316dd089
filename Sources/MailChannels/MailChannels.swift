import Curl
import MeterCore
// IMAP/POP3 sources and the SMTP transport (issue 3).
