import FileFormats
import Foundation
import NeuralNetwork

/// A training state read for `--resume`, and the file it came from.
struct ResumedRun {
  let state: TrainingCheckpoint<Float>
  let file: String
}

extension Train {
  /// The training state that `--resume PATH` names: PATH itself when it is one
  /// (MODEL.resume.safetensors), else the one beside the model PATH.
  static func readTrainingState(_ path: String) throws -> ResumedRun {
    let url = URL(fileURLWithPath: path)
    let stateURL = path.hasSuffix(".resume.safetensors") ? url : TrainingCheckpoint<Float>.url(besideModel: url)
    let statePath = path.hasSuffix(".resume.safetensors") ? path : (path as NSString).deletingPathExtension + ".resume.safetensors"
    guard FileManager.default.fileExists(atPath: stateURL.path) else {
      throw CommandError(
        "--resume \(path): there is no \(statePath) beside it (the run's state, which bn train writes with every checkpoint)")
    }
    do {
      return ResumedRun(state: try TrainingCheckpoint<Float>(contentsOf: stateURL), file: statePath)
    } catch {
      throw CommandError("--resume: \(error)")
    }
  }

  /// What defines this run: a resumed run, and every process of a data-parallel job,
  /// must have the same. `--epochs` counts only where the schedule depends on it (or
  /// processes would wait for steps the others never take).
  func runSettings(architecture: Architecture, rate: Double, train: LabeledSamples<Float>, test: LabeledSamples<Float>)
    -> JobSettings
  {
    var settings = JobSettings()
    settings.add("--arch", architecture)
    settings.add("--epochs", epochs, resumable: schedule == .cosine)
    settings.add("--batch-size", batchSize)
    settings.add("--optimizer", optimizer.rawValue)
    settings.add("--lr", rate)
    settings.add("--schedule", schedule.rawValue)
    if schedule == .step {
      settings.add("--step-epochs", decayEpochs)
      settings.add("--step-factor", stepFactor)
    }
    settings.add("--momentum", momentum)
    settings.add("--weight-decay", decay)
    settings.add("--seed", seed)
    settings.add("batch statistics (--sync-bn or --local-bn)", syncBn ? "--sync-bn" : localBn ? "--local-bn" : "one process")
    settings.add("training data (--dataset, --limit-train, --binarize)", digestOf: train.samples.scalars, labels: train.labels)
    settings.add("test data (--dataset, --binarize)", digestOf: test.samples.scalars, labels: test.labels, resumable: false)
    return settings
  }

  /// Refuses to resume a run with other settings than it was started with, or one that
  /// has nothing left to do.
  func checkResumable(_ resumed: ResumedRun, settings: JobSettings) throws {
    if let (name, value, saved) = settings.firstDifference(from: resumed.state.settings) {
      throw CommandError(
        "--resume: this run has \(name) \(value), but \(resumed.file) was saved by a run with \(name) \(saved): resume with the same settings")
    }
    guard resumed.state.trainer.epochCount < epochs else {
      throw CommandError(
        "--resume: the run in \(resumed.file) has done \(resumed.state.trainer.epochCount) epochs, and --epochs is \(epochs): nothing is left to train"
          + (schedule != .cosine ? " (give a larger --epochs to train on)" : ""))
    }
  }
}
