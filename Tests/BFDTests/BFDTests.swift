import Testing
@testable import BFD
