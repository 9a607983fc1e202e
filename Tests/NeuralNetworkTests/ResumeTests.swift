import FileFormats
import Foundation
import HalfPrecision
import Testing

@testable import NeuralNetwork

/// A run stopped anywhere and continued from its ``TrainingCheckpoint`` file ends with
/// the same network, bit for bit, as the run that never stopped: the optimizer's
/// buffers and step, the schedule, the shuffle and the dropout masks all continue.
@Suite struct ResumeTests {
  static let architecture = "linear:16,bn,relu,dropout:0.3,linear:8,bn,tanh,dropout:0.2,linear:3"

  static func trainer(optimizer: String) throws -> Trainer<Float> {
    var generator = SeededGenerator(seed: 3)
    let model: Sequential<Float> = try Architecture(parsing: architecture).makeNetwork(sampleShape: [6], using: &generator)
    let schedule = LearningRateSchedule.cosine(initial: 0.05, minimum: 0, steps: 40)
    let chosen: any Optimizer<Float> =
      optimizer == "adam"
      ? Adam(schedule: schedule, weightDecay: 1e-3) : SGD(schedule: schedule, momentum: 0.9, weightDecay: 1e-3)
    return Trainer(model: model, optimizer: chosen, configuration: TrainingConfiguration(batchSize: 12, seed: 7))
  }

  /// Everything a network holds, as bit patterns.
  static func bits(_ model: Sequential<Float>) -> [UInt32] {
    (model.parameters + model.buffers).flatMap { $0.scalars.map(\.bitPattern) }
  }

  @Test(arguments: ["sgd", "adam"], [3, 10, 17])
  func stoppedAnywhereAndResumedIsTheSameRun(optimizer: String, stopAfterStep: Int) throws {
    let data = try TrainerTests.clusters(perClass: 20, seed: 1)  // 60 samples: 5 steps an epoch
    var straight = try Self.trainer(optimizer: optimizer)
    for _ in 0..<4 { try straight.trainEpoch(on: data) }

    var first = try Self.trainer(optimizer: optimizer)
    var questions = 0  // stopWhen is asked once in every step
    #expect(throws: TrainingError.interrupted(epochCount: stopAfterStep / 5, stepCount: stopAfterStep)) {
      for _ in 0..<4 {
        try first.trainEpoch(
          on: data,
          stopWhen: {
            questions += 1
            return questions == stopAfterStep
          })
      }
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("run.resume.safetensors")
    try TrainingCheckpoint(
      checkpoint: Checkpoint(architecture: Architecture(parsing: Self.architecture), sampleShape: [6], model: first.model),
      trainer: first.state, settings: ["--lr": "0.05"], notes: ["curve": "1:2.5"]
    ).write(to: file)

    let saved = try TrainingCheckpoint<Float>(contentsOf: file)
    #expect(saved.trainer == first.state)
    #expect(saved.settings == ["--lr": "0.05"] && saved.notes == ["curve": "1:2.5"])
    var second = try Self.trainer(optimizer: optimizer)
    second.model = saved.checkpoint.model
    try second.restore(saved.trainer)
    #expect(second.stepCount == stopAfterStep && second.epochCount == stopAfterStep / 5)
    while second.epochCount < 4 { try second.trainEpoch(on: data) }
    #expect(second.stepCount == straight.stepCount)
    #expect(Self.bits(second.model) == Self.bits(straight.model))
    // And not by accident: the network moved after the stop.
    #expect(Self.bits(saved.checkpoint.model) != Self.bits(straight.model))
  }

  @Test func theFileHoldsPyTorchNamedOptimizerBuffers() throws {
    let data = try TrainerTests.clusters(perClass: 10, seed: 1)
    var trainer = try Self.trainer(optimizer: "adam")
    try trainer.trainEpoch(on: data)
    let checkpoint = try Checkpoint(architecture: Architecture(parsing: Self.architecture), sampleShape: [6], model: trainer.model)
    let file = TrainingCheckpoint(checkpoint: checkpoint, trainer: trainer.state).encoded()
    let weight = try #require(file.tensors["optimizer.exp_avg.0.weight"])
    #expect(weight.shape == [16, 6] && weight.dtypeName == "float32")
    #expect(file.tensors["optimizer.exp_avg_sq.8.bias"]?.shape == [3])
    // 30 samples in batches of 12, the last part merged: 2 steps.
    #expect(file.metadata["step_count"] == "2" && file.metadata["optimizer_step_count"] == "2")
    #expect(file.metadata["dropout_states"]?.split(separator: ",").count == 2)
    // The network's own keys are the plain checkpoint's, which PyTorch loads.
    let plain = Set(checkpoint.encoded().tensors.keys)
    #expect(Set(file.tensors.keys.filter { !$0.hasPrefix("optimizer.") }) == plain)
  }

  @Test func aStateThatDoesNotFitChangesNothing() throws {
    let data = try TrainerTests.clusters(perClass: 10, seed: 1)
    var sgd = try Self.trainer(optimizer: "sgd")
    try sgd.trainEpoch(on: data)
    var adam = try Self.trainer(optimizer: "adam")
    let before = adam.state
    #expect(throws: TrainingError.self) { try adam.restore(sgd.state) }
    #expect(adam.state == before)

    var wrongSize = sgd.state
    wrongSize.optimizer.buffers["momentum_buffer"]![0].removeLast()
    var fresh = try Self.trainer(optimizer: "sgd")
    #expect(throws: TrainingError.cannotResume("the optimizer's momentum_buffer of 0.weight has 95 values, the parameter 96")) {
      try fresh.restore(wrongSize)
    }
    var fewerDropouts = sgd.state
    fewerDropouts.dropoutStates.removeLast()
    #expect(throws: TrainingError.self) { try fresh.restore(fewerDropouts) }
    #expect(fresh.state == (try Self.trainer(optimizer: "sgd")).state)
  }

  /// A training state whose tensors were saved in half precision (the network's and the
  /// optimizer's) resumes widened exactly, as a half checkpoint loads.
  @Test(arguments: ["float16", "bfloat16"])
  func aHalfPrecisionStateResumesWidened(halfType: String) throws {
    let data = try TrainerTests.clusters(perClass: 10, seed: 1)
    var trainer = try Self.trainer(optimizer: "adam")
    try trainer.trainEpoch(on: data)
    let checkpoint = try Checkpoint(architecture: Architecture(parsing: Self.architecture), sampleShape: [6], model: trainer.model)
    var file = TrainingCheckpoint(checkpoint: checkpoint, trainer: trainer.state).encoded()
    var widened: [String: [Float]] = [:]
    for (key, tensor) in file.tensors {
      guard let values = tensor.floats() else { continue }
      file.tensors[key] =
        halfType == "float16"
        ? StoredArray(shape: tensor.shape, float16: Float16.narrowed(values))
        : StoredArray(shape: tensor.shape, bfloat16: BFloat16.narrowed(values))
      widened[key] = file.tensors[key]!.floatsWidening()
    }
    let resumed = try TrainingCheckpoint<Float>(decoding: file, file: "half.resume.safetensors")
    let names = resumed.checkpoint.model.parameterNames
    for (index, name) in names.enumerated() {
      #expect(resumed.checkpoint.model.parameters[index].scalars == widened[name], "\(name)")
      for kind in ["exp_avg", "exp_avg_sq"] {
        let buffer = resumed.trainer.optimizer.buffers[kind]?[index]
        #expect(buffer == widened["optimizer.\(kind).\(name)"], "\(kind) \(name)")
        #expect(buffer != trainer.state.optimizer.buffers[kind]![index], "\(kind) \(name) was not rounded")
      }
    }
    #expect(throws: CheckpointError.self) { try TrainingCheckpoint<Double>(decoding: file, file: "half.resume.safetensors") }
  }

  @Test func aPlainModelIsNotATrainingState() throws {
    var generator = SeededGenerator(seed: 11)
    let architecture = try Architecture(parsing: "linear:3")
    let model: Sequential<Float> = try architecture.makeNetwork(sampleShape: [6], using: &generator)
    let plain = Checkpoint(architecture: architecture, sampleShape: [6], model: model).encoded()
    #expect(throws: CheckpointError(file: "model.safetensors", problem: "not a training state (no 'training_state_format' in the metadata)")) {
      try TrainingCheckpoint<Float>(decoding: plain, file: "model.safetensors")
    }
  }
}
