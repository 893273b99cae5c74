import DMSServer
import Testing

struct ByteCountTests {
    @Test(arguments: [
        ("268435456", 268_435_456), ("256MiB", 256 << 20), ("1GiB", 1 << 30), ("512MB", 512_000_000),
        ("64k", 64 << 10), ("2 GiB", 2 << 30), ("7b", 7), ("1tb", 1_000_000_000_000),
    ])
    func parsesCountsWithUnits(text: String, bytes: Int) {
        #expect(ByteCount(text)?.bytes == bytes)
    }

    @Test(arguments: ["", "MiB", "-1", "1.5GiB", "12 parsecs", "99999999999999999999", "9999999999TiB"])
    func rejectsAnythingElse(text: String) {
        #expect(ByteCount(text) == nil)
    }
}
