#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// Buffered output to a file or standard output.
final class OutputSink {
    private let file: UnsafeMutablePointer<FILE>
    private let owned: Bool
    private var buffer: [UInt8] = []

    init(path: String?) throws {
        if let path, path != "-" {
            guard let f = fopen(path, "wb") else {
                Report.printErr("\(path): error: cannot write: \(String(cString: strerror(errno)))")
                throw ExitStatus.badInput
            }
            file = f
            owned = true
        } else {
            file = standardOutput
            owned = false
        }
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    /// Lets `body` append bytes to the buffer directly (no intermediate string).
    func append(_ body: (inout [UInt8]) -> Void) {
        body(&buffer)
        if buffer.count >= 1 << 20 { flush() }
    }

    func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { flush() }
    }

    func flush() {
        if !buffer.isEmpty {
            _ = buffer.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            buffer.removeAll(keepingCapacity: true)
        }
        fflush(file)
    }

    /// True when what is written to `path` can be taken back (`takeBack`): a regular file, or
    /// none yet (not standard output, a pipe or a device).
    static func canTakeBack(_ path: String?) -> Bool {
        guard let path, path != "-" else { return false }
        var st = stat()
        guard stat(path, &st) == 0 else { return errno == ENOENT }
        return (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Drops everything written so far to a file that `canTakeBack`: it is empty again.
    func takeBack() {
        precondition(owned)
        buffer.removeAll(keepingCapacity: true)
        fflush(file)
        _ = ftruncate(fileno(file), 0)
        rewind(file)
    }

    func close() {
        flush()
        if owned { fclose(file) }
    }
}
