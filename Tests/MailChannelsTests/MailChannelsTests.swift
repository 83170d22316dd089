import Testing
@testable import MailChannels
