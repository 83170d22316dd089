import Testing
@testable import SMSChannels
