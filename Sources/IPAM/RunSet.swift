// Ordered set of 128-bit numbers stored as maximal runs [lo, hi] in an AVL tree.
//
// The allocator keeps one per pool and family, over the pool's allocatable ordinals, so
// "lowest free ordinal ≥ s" is one floor search: the run holding s ends just before a gap.

/// Set of numbers kept as disjoint, non-adjacent runs in an array-backed AVL tree keyed by run start.
struct RunSet: Sendable {
    private struct Node: Sendable {
        var lo: UInt128
        var hi: UInt128
        var left: Int32
        var right: Int32
        var height: Int32
    }

    private var nodes: [Node] = []
    private var freeSlots: [Int32] = []
    private var root: Int32 = -1

    /// Number of members (not runs).
    private(set) var count: Int = 0
    /// Number of runs.
    private(set) var runCount: Int = 0

    init() {}

    /// Whether `x` is a member; O(log runs).
    func contains(_ x: UInt128) -> Bool {
        guard let n = floorNode(x) else { return false }
        return x <= nodes[Int(n)].hi
    }

    /// Lowest non-member ≥ `start`, nil if every number from `start` to UInt128.max is a member; O(log runs).
    func lowestAbsent(atOrAfter start: UInt128) -> UInt128? {
        guard let n = floorNode(start) else { return start }
        let node = nodes[Int(n)]
        if start <= node.hi { return node.hi.successor }
        return start
    }

    /// Adds `x`, merging with neighbouring runs; returns false if already present. O(log runs).
    @discardableResult
    mutating func insert(_ x: UInt128) -> Bool {
        let pred = floorNode(x)
        if let p = pred, x <= nodes[Int(p)].hi { return false }
        let succ = ceilingNode(above: x)
        let joinsPred = pred.map { nodes[Int($0)].hi.successor == x } ?? false
        let joinsSucc = succ.map { x.successor == nodes[Int($0)].lo } ?? false
        count += 1
        switch (joinsPred, joinsSucc) {
        case (true, true):
            let s = succ!
            let newHi = nodes[Int(s)].hi
            let key = nodes[Int(s)].lo
            root = removeNode(root, key: key)
            nodes[Int(pred!)].hi = newHi
            runCount -= 1
        case (true, false):
            nodes[Int(pred!)].hi = x
        case (false, true):
            // Lowering a run start keeps the tree ordered: x is above the previous run's end.
            nodes[Int(succ!)].lo = x
        case (false, false):
            let n = allocateNode(lo: x, hi: x)
            root = insertNode(root, n)
            runCount += 1
        }
        return true
    }

    /// Removes `x`, splitting its run if needed; returns false if absent. O(log runs).
    @discardableResult
    mutating func remove(_ x: UInt128) -> Bool {
        guard let n = floorNode(x) else { return false }
        let i = Int(n)
        let lo = nodes[i].lo
        let hi = nodes[i].hi
        guard x <= hi else { return false }
        count -= 1
        if lo == hi {
            root = removeNode(root, key: lo)
            runCount -= 1
        } else if x == lo {
            nodes[i].lo = x.successor!
        } else if x == hi {
            nodes[i].hi = x - 1
        } else {
            nodes[i].hi = x - 1
            let m = allocateNode(lo: x.successor!, hi: hi)
            root = insertNode(root, m)
            runCount += 1
        }
        return true
    }

    /// Removes every member.
    mutating func removeAll() {
        self = RunSet()
    }

    /// The runs in ascending order (O(runs), for tests and snapshots).
    var runs: [(lo: UInt128, hi: UInt128)] {
        var out: [(lo: UInt128, hi: UInt128)] = []
        out.reserveCapacity(runCount)
        var stack: [Int32] = []
        var cur = root
        while cur >= 0 || !stack.isEmpty {
            while cur >= 0 {
                stack.append(cur)
                cur = nodes[Int(cur)].left
            }
            let n = stack.removeLast()
            out.append((nodes[Int(n)].lo, nodes[Int(n)].hi))
            cur = nodes[Int(n)].right
        }
        return out
    }

    /// Tree height (for tests of the balance invariant).
    var height: Int { Int(h(root)) }

    /// Checks AVL balance, ordering and run disjointness (tests only).
    func checkInvariants() -> Bool {
        func check(_ n: Int32, _ lower: UInt128?, _ upper: UInt128?) -> Int32? {
            if n < 0 { return 0 }
            let node = nodes[Int(n)]
            guard node.lo <= node.hi else { return nil }
            if let l = lower, !(l < node.lo) { return nil }
            if let u = upper, !(node.hi < u) { return nil }
            guard let lh = check(node.left, lower, node.lo), let rh = check(node.right, node.hi, upper) else { return nil }
            guard abs(lh - rh) <= 1, node.height == max(lh, rh) + 1 else { return nil }
            return node.height
        }
        guard check(root, nil, nil) != nil else { return false }
        let r = runs
        guard r.count == runCount else { return false }
        var total = UInt128(0)
        for (i, run) in r.enumerated() {
            total = total + (run.hi - run.lo) + 1
            // Adjacent runs would have been merged.
            if i > 0, r[i - 1].hi.successor == run.lo { return false }
        }
        return total == UInt128(UInt64(count))
    }

    // MARK: - Tree internals

    private func floorNode(_ x: UInt128) -> Int32? {
        var cur = root
        var best: Int32? = nil
        while cur >= 0 {
            let node = nodes[Int(cur)]
            if node.lo <= x {
                best = cur
                cur = node.right
            } else {
                cur = node.left
            }
        }
        return best
    }

    private func ceilingNode(above x: UInt128) -> Int32? {
        var cur = root
        var best: Int32? = nil
        while cur >= 0 {
            let node = nodes[Int(cur)]
            if x < node.lo {
                best = cur
                cur = node.left
            } else {
                cur = node.right
            }
        }
        return best
    }

    private mutating func allocateNode(lo: UInt128, hi: UInt128) -> Int32 {
        let node = Node(lo: lo, hi: hi, left: -1, right: -1, height: 1)
        if let slot = freeSlots.popLast() {
            nodes[Int(slot)] = node
            return slot
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }

    private func h(_ n: Int32) -> Int32 { n < 0 ? 0 : nodes[Int(n)].height }

    private mutating func fixHeight(_ n: Int32) {
        let i = Int(n)
        nodes[i].height = max(h(nodes[i].left), h(nodes[i].right)) + 1
    }

    private mutating func rotateRight(_ y: Int32) -> Int32 {
        let x = nodes[Int(y)].left
        nodes[Int(y)].left = nodes[Int(x)].right
        nodes[Int(x)].right = y
        fixHeight(y)
        fixHeight(x)
        return x
    }

    private mutating func rotateLeft(_ x: Int32) -> Int32 {
        let y = nodes[Int(x)].right
        nodes[Int(x)].right = nodes[Int(y)].left
        nodes[Int(y)].left = x
        fixHeight(x)
        fixHeight(y)
        return y
    }

    private mutating func rebalance(_ n: Int32) -> Int32 {
        fixHeight(n)
        let l = nodes[Int(n)].left
        let r = nodes[Int(n)].right
        let balance = h(l) - h(r)
        if balance > 1 {
            if h(nodes[Int(l)].left) < h(nodes[Int(l)].right) {
                nodes[Int(n)].left = rotateLeft(l)
            }
            return rotateRight(n)
        }
        if balance < -1 {
            if h(nodes[Int(r)].right) < h(nodes[Int(r)].left) {
                nodes[Int(n)].right = rotateRight(r)
            }
            return rotateLeft(n)
        }
        return n
    }

    private mutating func insertNode(_ t: Int32, _ new: Int32) -> Int32 {
        if t < 0 { return new }
        if nodes[Int(new)].lo < nodes[Int(t)].lo {
            nodes[Int(t)].left = insertNode(nodes[Int(t)].left, new)
        } else {
            nodes[Int(t)].right = insertNode(nodes[Int(t)].right, new)
        }
        return rebalance(t)
    }

    private mutating func removeNode(_ t: Int32, key: UInt128) -> Int32 {
        precondition(t >= 0, "RunSet: removing a missing run")
        let lo = nodes[Int(t)].lo
        if key < lo {
            nodes[Int(t)].left = removeNode(nodes[Int(t)].left, key: key)
        } else if lo < key {
            nodes[Int(t)].right = removeNode(nodes[Int(t)].right, key: key)
        } else {
            let l = nodes[Int(t)].left
            let r = nodes[Int(t)].right
            freeSlots.append(t)
            if l < 0 { return r }
            if r < 0 { return l }
            let (newRight, m) = removeMin(r)
            nodes[Int(m)].left = l
            nodes[Int(m)].right = newRight
            return rebalance(m)
        }
        return rebalance(t)
    }

    private mutating func removeMin(_ t: Int32) -> (root: Int32, min: Int32) {
        let l = nodes[Int(t)].left
        if l < 0 { return (nodes[Int(t)].right, t) }
        let (newLeft, m) = removeMin(l)
        nodes[Int(t)].left = newLeft
        return (rebalance(t), m)
    }
}
