import ArgumentParser
import BatchNormalization
import Datasets
import FileFormats
import Foundation
import NeuralNetwork

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `bn train`: train a classifier on an MNIST-format data set and save it as a
/// PyTorch-compatible safetensors checkpoint with its training curve.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train an MLP or a small CNN on Fashion-MNIST (or any MNIST-format data set).",
    discussion: """
      Trains with softmax cross-entropy on shuffled mini-batches (the last partial batch \
      is merged into the one before), evaluates on the test set in inference mode after \
      every epoch, and ends with `test accuracy: 0.xxxx`. After each epoch the model is \
      written atomically to --out (safetensors with PyTorch nn.Sequential state_dict keys, \
      the architecture in the metadata) with its training curve beside it (MODEL.svg). \
      If the loss becomes NaN or infinite, training stops with an error and the file \
      keeps the last good epoch.

      Stopping and resuming: beside the model goes MODEL.resume.safetensors, the whole \
      run (the optimizer's state, the epoch and step, the random generators), written \
      atomically with every checkpoint. Ctrl-C (or SIGTERM) stops at the end of the \
      step in progress, writes both files and exits 130 (143); under mpirun, send \
      SIGUSR1 to mpirun (it forwards it to every process; exit 138). Run the same command \
      with --resume MODEL.safetensors to continue: the run ends with the same model, bit \
      for bit, as if it had never stopped (also after a kill or a crash, from the last \
      epoch). With --schedule constant or step, --epochs may grow on resume.

      Data-parallel: `mpirun -np P bn train … --sync-bn` shares each batch among P \
      processes (contiguous shards, sizes differing by at most one) and sums the gradients \
      in one exchange per step; with --sync-bn batch normalization uses the whole batch's \
      statistics, so the run is that of one process (to rounding), with --local-bn each \
      process normalizes its shard. Rank 0 prints and writes the model; every epoch checks \
      that all processes hold the same network. Outside mpirun, --sync-bn is one process.

      \(ArchitectureHelp.text)

      Example: the paper's MNIST network on Fashion-MNIST, 88% after 10 epochs:
        bn train --epochs 10 --batch-size 60 --optimizer sgd --lr 0.1 \\
          --schedule cosine --out mlp.safetensors --arch \\
          linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10
      """
  )

  enum OptimizerName: String, ExpressibleByArgument, CaseIterable {
    case sgd, adam, adamw
  }

  enum ScheduleName: String, ExpressibleByArgument, CaseIterable {
    case constant, step, cosine
  }

  @OptionGroup var data: DatasetOptions

  @Option(help: ArgumentHelp("The network (see ARCHITECTURE below).", valueName: "spec"))
  var arch: String

  @Option(parsing: .unconditional, help: "Passes over the training set.")
  var epochs = 10

  @Option(parsing: .unconditional, help: "Samples per step.")
  var batchSize = 60

  @Option(help: "sgd (with --momentum), adam, or adamw (Adam with decoupled weight decay).")
  var optimizer: OptimizerName = .sgd

  @Option(parsing: .unconditional, help: "Learning rate (default 0.1 for sgd, 0.001 for adam and adamw).")
  var lr: Double?

  @Option(
    help: "Learning-rate schedule: constant; step (× --step-factor every --step-epochs epochs, PyTorch's StepLR); or cosine (from --lr down to 0 over all the steps).")
  var schedule: ScheduleName = .constant

  @Option(parsing: .unconditional, help: "With --schedule step: epochs between decays (default: a third of --epochs, at least 1).")
  var stepEpochs: Int?

  @Option(parsing: .unconditional, help: "With --schedule step: the factor of each decay.")
  var stepFactor = 0.1

  @Option(parsing: .unconditional, help: "SGD momentum µ (b ← µ·b + g; p ← p − lr·b).")
  var momentum = 0.9

  @Option(
    parsing: .unconditional,
    help: "Weight decay λ: L2, added to the gradient (sgd, adam), or decoupled, p ← p·(1 − lr·λ) (adamw). Default 0, and 0.01 for adamw (PyTorch's).")
  var weightDecay: Double?

  @Option(help: "Seeds the initial weights, dropout and the shuffles: the same seed gives the same run.")
  var seed: UInt64 = 1

  @OptionGroup var computing: ThreadOptions


  @Option(parsing: .unconditional, help: "Train on the first N training images only.")
  var limitTrain: Int?

  @Option(parsing: .unconditional, help: "Report training metrics every K steps.")
  var reportEvery = 100

  @Option(
    help: ArgumentHelp(
      "Where to write the model (MODEL.safetensors); MODEL.svg and MODEL.resume.safetensors go beside it.",
      valueName: "model"))
  var out: String

  @Option(
    help: ArgumentHelp(
      "Continue the run saved with this model (its MODEL.resume.safetensors), given the same settings.",
      valueName: "model"))
  var resume: String?

  @Flag(help: "Under mpirun: share each batch among the processes and normalize with the whole batch's statistics (synchronized batch normalization; the run of one process, to rounding).")
  var syncBn = false

  @Flag(help: "Under mpirun: share each batch among the processes, each normalizing its own shard (PyTorch DDP without SyncBatchNorm).")
  var localBn = false

  func validate() throws {
    for (name, value) in [("--epochs", epochs), ("--batch-size", batchSize), ("--report-every", reportEvery)] where value < 1 {
      throw ValidationError("\(name) must be at least 1, got \(value)")
    }
    if let limitTrain, limitTrain < 1 { throw ValidationError("--limit-train must be at least 1, got \(limitTrain)") }
    if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, got \(lr)") }
    if !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
    if let weightDecay, !(weightDecay >= 0 && weightDecay.isFinite) {
      throw ValidationError("--weight-decay must be ≥ 0, got \(weightDecay)")
    }
    if let stepEpochs, stepEpochs < 1 { throw ValidationError("--step-epochs must be at least 1, got \(stepEpochs)") }
    if !(stepFactor > 0 && stepFactor <= 1) { throw ValidationError("--step-factor must be in (0, 1], got \(stepFactor)") }
    if schedule != .step && (stepEpochs != nil || stepFactor != 0.1) {
      throw ValidationError("--step-epochs and --step-factor go with --schedule step")
    }
    if syncBn && localBn { throw ValidationError("--sync-bn and --local-bn exclude each other") }
  }

  /// With per-process statistics, refuses shards of one sample where a layer would
  /// normalize one value per channel (batch normalization over features).
  func checkShards(model: Sequential<Float>, processes: Int) throws {
    guard localBn, batchSize / processes < 2 else { return }
    var normalizesFeatures = false
    var probe = model
    probe.updateLayers(ofType: BatchNormLayer<Float>.self) { normalizesFeatures = normalizesFeatures || $0.kind == .batchNorm1d }
    guard normalizesFeatures else { return }
    throw CommandError(
      "with --local-bn each of the \(processes) processes normalizes its own shard, and a batch of \(batchSize) leaves "
        + "some with \(batchSize / processes) sample\(batchSize / processes == 1 ? "" : "s"): use --batch-size \(2 * processes) or more, or --sync-bn",
      everyProcess: true)
  }

  /// λ: the option, or PyTorch's default for the optimizer.
  var decay: Double { weightDecay ?? (optimizer == .adamw ? 0.01 : 0) }

  /// Epochs between the step schedule's decays.
  var decayEpochs: Int { stepEpochs ?? max(1, epochs / 3) }

  func run() throws {
    let processes = try CommandProcesses.start(threads: computing.threads)
    if processes.group.size > 1 && !syncBn && !localBn {
      throw CommandError(
        "this is one of \(processes.group.size) processes (mpirun): pass --sync-bn or --local-bn to share each batch among them")
    }
    let architecture: Architecture
    do {
      architecture = try Architecture(parsing: arch)
    } catch {
      throw CommandError("\(error)")
    }
    let output = URL(fileURLWithPath: out)
    guard output.pathExtension == "safetensors" else {
      throw CommandError(
        "--out \(out): name the model MODEL.safetensors (its curve goes to MODEL.svg, the run's state to MODEL.resume.safetensors)")
    }
    let curveURL = output.deletingPathExtension().appendingPathExtension("svg")
    let stateURL = TrainingCheckpoint<Float>.url(besideModel: output)
    let (curvePath, statePath) = ((out as NSString).deletingPathExtension + ".svg", (out as NSString).deletingPathExtension + ".resume.safetensors")
    var isDirectory: ObjCBool = false
    let directory = output.deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw CommandError("\(out): the directory \(directory) does not exist")
    }
    let resumed = try resume.map(Self.readTrainingState)

    let images = try DatasetArgument.load(data.dataset)
    var train = images.train
    var test = images.test
    if let binarize = data.binarize {
      train = train.binarized(threshold: binarize)
      test = test.binarized(threshold: binarize)
    }
    if let limitTrain { train = train.prefix(limitTrain) }
    guard test.count > 0 else { throw CommandError("the test set of \(data.dataset) holds no images: nothing to evaluate on") }
    let sampleShape = DatasetArgument.sampleShape(for: architecture, height: train.height, width: train.width)
    var generator = SeededGenerator(seed: seed)
    var model: Sequential<Float>
    do {
      model = try architecture.makeNetwork(sampleShape: sampleShape, using: &generator)
    } catch {
      throw CommandError("\(error) (samples \(sampleShape) from \(data.dataset))")
    }
    let outputs = try architecture.outputShape(forSampleShape: sampleShape)
    let classCount = max(train.classCount, test.classCount)
    guard outputs.count == 1, outputs[0] >= classCount else {
      throw CommandError(
        "the network gives \(outputs) outputs per sample but the data set has \(classCount) classes: end with linear:\(classCount)"
      )
    }
    let trainSamples = try DatasetArgument.samples(train, sampleShape: sampleShape)
    let testSamples = try DatasetArgument.samples(test, sampleShape: sampleShape)

    let stepsPerEpoch = LastBatchPolicy.merge.batchCount(sampleCount: trainSamples.count, batchSize: batchSize)
    let rate = lr ?? (optimizer == .sgd ? 0.1 : 0.001)
    let learningRates: LearningRateSchedule
    switch schedule {
    case .constant: learningRates = .constant(rate)
    case .step: learningRates = .step(initial: rate, every: decayEpochs * stepsPerEpoch, factor: stepFactor)
    case .cosine: learningRates = .cosine(initial: rate, minimum: 0, steps: epochs * stepsPerEpoch)
    }
    let chosenOptimizer: any Optimizer<Float>
    switch optimizer {
    case .sgd: chosenOptimizer = SGD(schedule: learningRates, momentum: momentum, weightDecay: decay)
    case .adam: chosenOptimizer = Adam(schedule: learningRates, weightDecay: decay)
    case .adamw: chosenOptimizer = Adam(schedule: learningRates, weightDecay: decay, decoupledWeightDecay: true)
    }
    let settings = runSettings(architecture: architecture, rate: rate, train: trainSamples, test: testSamples)
    if let resumed {
      try checkResumable(resumed, settings: settings)
      model = resumed.state.checkpoint.model
    }
    let dataParallelism =
      syncBn || localBn ? DataParallelism(group: processes.group, synchronizesBatchNormalization: syncBn) : nil
    if dataParallelism != nil {
      try checkShards(model: model, processes: processes.group.size)
      try settings.check(in: processes.group)
    }
    var trainer = Trainer(
      model: model, optimizer: chosenOptimizer,
      configuration: TrainingConfiguration(batchSize: batchSize, seed: seed, metricsInterval: reportEvery),
      dataParallelism: dataParallelism)
    var curve = TrainingCurve(title: "\(optimizer.rawValue), lr \(rate) \(schedule.rawValue): \(architecture)")
    if let resumed {
      do {
        try trainer.restore(resumed.state.trainer)
      } catch {
        throw CommandError("\(resumed.file): \(error)")
      }
      curve.restore(from: resumed.state.notes)
    }
    // Open MPI gives each process a pseudo-terminal even when mpirun's output goes to a
    // file: with several processes, plain lines.
    var progress = ProgressLine(isTerminal: isatty(STDOUT_FILENO) == 1 && processes.group.size == 1, isShown: processes.isLeader)
    processes.say("training \(architecture) on \(trainSamples.count) samples \(sampleShape), testing on \(testSamples.count)")
    if let resumed {
      processes.say(
        "resuming from \(resumed.file) after step \(trainer.stepCount) (\(trainer.epochCount) of \(epochs) epochs done)")
    }
    if let dataParallelism {
      let statistics = dataParallelism.synchronizesBatchNormalization ? "synchronized" : "per-process"
      let size = processes.group.size
      processes.say(
        size == 1
          ? "1 process (not under mpirun) takes each batch of \(batchSize); \(statistics) batch statistics"
          : "\(size) processes share each batch of \(batchSize); \(statistics) batch statistics")
    }

    let signals = StopSignals()
    var curveProblem: String?
    let accuracy: Double
    do {
      let last = try trainer.fit(
        trainSamples, epochs: epochs, test: testSamples, classCount: classCount,
        checkpoint: CheckpointDestination(
          architecture: architecture, sampleShape: sampleShape, url: output, trainingState: stateURL,
          settings: settings.dictionary),
        afterEpoch: { report in
          curve.testAccuracy.append((report.stepCount, report.evaluation.accuracy))
          progress.finish()
          processes.say(
            String(
              format: "epoch %d/%d  test loss %.4f  test accuracy %.4f", report.epochCount, epochs, report.evaluation.loss,
              report.evaluation.accuracy))
          guard processes.isLeader else { return }
          // A plot that cannot be written is worth a warning, not the run.
          do {
            try AtomicFile.write(Data(curve.svg().utf8), to: curveURL)
          } catch {
            if curveProblem == nil { FileHandle.standardError.write(Data("warning: \(error); training goes on\n".utf8)) }
            curveProblem = "\(error)"
          }
        },
        onMetrics: { metrics in
          curve.loss.append((metrics.step + 1, metrics.loss))
          progress.show(
            String(
              format: "epoch %d/%d  step %d/%d  loss %.4f  accuracy %.4f  %.0f examples/s", metrics.epoch + 1, epochs,
              metrics.step - metrics.epoch * stepsPerEpoch + 1, stepsPerEpoch, metrics.loss, metrics.accuracy,
              metrics.examplesPerSecond))
        },
        stopWhen: { signals.signalNumber != nil },
        notes: { curve.notes })
      accuracy = last.evaluation.accuracy
    } catch TrainingError.interrupted(let epochCount, let stepCount) {
      progress.finish()
      let number = signals.signalNumber ?? SIGINT
      processes.say(
        "stopped by \(StopSignals.name(number)) after step \(stepCount) (\(epochCount) of \(epochs) epochs done): wrote \(out) and \(statePath); "
          + "to continue, run the same command with --resume \(out)")
      throw ExitCode(128 + number)
    } catch let error as TrainingError {
      progress.finish()
      if case .replicasDiverged = error {
        throw CommandError("after epoch \(trainer.epochCount): \(error)", everyProcess: true)
      }
      let kept = trainer.epochCount == 0 ? "nothing was written" : "\(out) keeps epoch \(trainer.epochCount)"
      // With data parallelism the loss and the gradients are summed: every process stops.
      throw CommandError("training stopped: \(error); \(kept)", everyProcess: dataParallelism != nil)
    } catch let error as BatchNormError {
      progress.finish()
      guard case .synchronizationMismatch = error else { throw error }
      throw CommandError("\(error)", everyProcess: true)
    } catch let error as CheckpointError {
      throw CommandError("\(error)")
    } catch let error as FileFormatError {
      throw CommandError("\(error)")
    }
    processes.say(curveProblem == nil ? "wrote \(out) and \(curvePath)" : "wrote \(out) (not its curve: \(curveProblem!))")
    processes.say(String(format: "test accuracy: %.4f", accuracy))
    try processes.finish()
  }
}
