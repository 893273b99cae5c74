/// A binary min-heap of pending merges for ``Tokenizer/mergeLarge(_:)``.
struct MergeHeap {
    struct Entry {
        let order: UInt64
        let left: Int32
        let right: Int32
        let merged: Int32
    }

    private var items: [Entry] = []

    mutating func push(_ entry: Entry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent].order <= items[child].order { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= items.count { break }
                var smallest = left
                if left + 1 < items.count && items[left + 1].order < items[left].order { smallest = left + 1 }
                if items[parent].order <= items[smallest].order { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
