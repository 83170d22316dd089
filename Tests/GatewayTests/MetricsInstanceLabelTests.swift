import Testing
@testable import Gateway

/// With a shared store every series of `/metrics` carries the instance's name.
@Suite struct MetricsInstanceLabelTests {
    @Test("instance_name goes first into every sample's label set; comments and a lone store untouched")
    func labelled() {
        let metrics = MetergateMetrics(instance: #"gw"1\"#)
        metrics.messageRecorded(channel: "sms", feed: "gammu", outcome: "accepted")
        metrics.feedPolled("gammu", at: .init(timeIntervalSince1970: 1_795_300_000))
        let text = metrics.exposition()
        let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!samples.isEmpty)
        for sample in samples {
            #expect(sample.contains(#"{instance_name="gw\"1\\""#), "\(sample)")
        }
        #expect(text.contains(#"metergate_messages_total{instance_name="gw\"1\\",channel="sms",feed="gammu",outcome="accepted"} 1"#), "\(text)")
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("#") }.allSatisfy { !$0.contains("instance_name") })

        #expect(MetergateMetrics.labelled("# TYPE up gauge\nup 1\nx{a=\"b\"} 2\ny{} 3\n", with: #"instance_name="a""#)
                == "# TYPE up gauge\nup{instance_name=\"a\"} 1\nx{instance_name=\"a\",a=\"b\"} 2\ny{instance_name=\"a\"} 3\n")
        let alone = MetergateMetrics()
        alone.messageRecorded(channel: "sms", feed: "f", outcome: "accepted")
        #expect(!alone.exposition().contains("instance_name"))
    }
}
