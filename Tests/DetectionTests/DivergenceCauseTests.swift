import Backend
import Detection
import Foundation
import Siamese
import XCTest

/// A divergence names the option that most likely caused it: a huge contrastive margin is not
/// fixed by a lower --lr.
final class DivergenceCauseTests: XCTestCase {
    func testAHugeMarginIsNamedInsteadOfTheLearningRate() throws {
        var config = smallConfig
        config.loss = .contrastive
        config.margin = 1e38
        XCTAssertThrowsError(try Trainer(backend: CPUBackend(), config: config, options: quickOptions(epochs: 2))
            .train(table: syntheticTable())) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("training diverged"), text)
            XCTAssertTrue(text.contains("--margin 1e+38"), text)
            XCTAssertFalse(text.contains("lower --lr"), text)
        }
    }

    func testTheLikelyCauseFollowsTheOptions() {
        var config = smallConfig
        XCTAssertTrue(SiameseError.likelyCause(learningRate: 1e30, config: config).contains("--lr 1e+30"))
        XCTAssertTrue(SiameseError.likelyCause(learningRate: 1e-4, config: config).contains("Try a lower --lr"))
        config.loss = .contrastive
        config.margin = 1e20
        XCTAssertTrue(SiameseError.likelyCause(learningRate: 1e30, config: config).contains("--margin"))
    }
}
