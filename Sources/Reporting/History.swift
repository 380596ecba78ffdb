// Per-epoch training history and its CSV form.
import Common
import Foundation

/// One epoch of training. Validation values are `nil` (or NaN) when there was no validation.
public struct EpochRecord: Equatable, Sendable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
    public var valLoss: Double?
    public var valAccuracy: Double?
    /// Wall-clock seconds the epoch took, when measured.
    public var seconds: Double?

    public init(epoch: Int, loss: Double, accuracy: Double, valLoss: Double? = nil, valAccuracy: Double? = nil,
                seconds: Double? = nil) {
        self.epoch = epoch
        self.loss = loss
        self.accuracy = accuracy
        self.valLoss = valLoss
        self.valAccuracy = valAccuracy
        self.seconds = seconds
    }
}

/// history.csv: `epoch,loss,accuracy,val_loss,val_accuracy,seconds`, one row per epoch.
public enum HistoryCSV {
    public static let header = "epoch,loss,accuracy,val_loss,val_accuracy,seconds"

    /// The CSV text; missing and non-finite values are empty fields.
    public static func render(_ history: [EpochRecord]) -> String {
        var lines = [header]
        for r in history {
            lines.append([String(r.epoch), field(r.loss), field(r.accuracy), field(r.valLoss), field(r.valAccuracy),
                          field(r.seconds)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `render(history)` to a temporary file beside `url` and renames it into place.
    /// Reads `render`'s text back; rows that are not whole records are skipped.
    public static func parse(_ csv: String) -> [EpochRecord] {
        csv.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
            // Int(exactly:) and not Int(_:), which traps on NaN or a number beyond Int.
            guard f.count >= 5, let e = f[0].flatMap({ Int(exactly: $0) }), let loss = f[1], let acc = f[2] else { return nil }
            return EpochRecord(epoch: e, loss: loss, accuracy: acc, valLoss: f[3], valAccuracy: f[4],
                               seconds: f.count > 5 ? f[5] : nil)
        }
    }

    public static func write(_ history: [EpochRecord], to url: URL) throws {
        try AtomicFile.write(render(history), to: url)
    }

    /// Shortest text that reads back as the same Double.
    private static func field(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "" }
        return "\(v)"
    }
}
