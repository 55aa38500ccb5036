// sde-train: trains a time-dependent score network on data.npy by score
// matching and writes model.json; checkpoints atomically and resumes bit for bit.
#include <fmt/format.h>

#include <fstream>
#include <numeric>

#include "cli.hpp"
#include "error.hpp"
#include "io.hpp"
#include "metrics.hpp"
#include "json_fields.hpp"
#include "train.hpp"

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-train", "Train a score network on data (N x d .npy) by score matching");
  auto& app = tool.app();
  std::string data_path, resume, log_path, loss = "dsm", weighting = "sigma2", parameterization,
                                           projection = "rademacher";
  std::string activation = "silu", embedding = "fourier";
  std::int64_t steps = 10000, checkpoint_every = 0;
  sde::TrainOptions opt;
  sde::NetConfig net;
  int log_every = 10;
  std::string truth_path;

  app.add_option("data", data_path, "Training data, N x d .npy ('-' for stdin)")->required();
  app.add_option("--steps", steps, "Total training steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--resume", resume, "Continue from this checkpoint (its settings are used)");
  app.add_option("--checkpoint-every", checkpoint_every, "Write the model every K steps")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log", log_path, "Loss log: .csv or .jsonl (appended on --resume)");
  app.add_option("--truth", truth_path,
                 "Mixture spec of the data: report the learned score's relative L2 error vs the exact "
                 "score, averaged over t in [0.01, 1] (EMA weights)");
  app.add_option("--log-every", log_every, "Log every K steps")->check(CLI::PositiveNumber)->capture_default_str();
  // Options fixed by a checkpoint: they may not be given with --resume.
  std::vector<CLI::Option*> fixed = {
      app.add_option("--loss", loss, "dsm, smld, ddpm or ssm")
          ->check(CLI::IsMember({"dsm", "smld", "ddpm", "ssm"}))->capture_default_str(),
      app.add_option("--parameterization", parameterization,
                     "noise: score = -net(x, t)/s(t); scaled: the same with x(t) scaled to unit "
                     "variance at every t (default for VE; noise otherwise)")
          ->check(CLI::IsMember({"noise", "scaled"})),
      app.add_option("--weighting", weighting, "lambda(t): sigma2 = s(t)^2, likelihood = g(t)^2")
          ->check(CLI::IsMember({"sigma2", "likelihood"}))->capture_default_str(),
      app.add_option("--projection", projection, "Sliced score matching: gaussian or rademacher")
          ->check(CLI::IsMember({"gaussian", "rademacher"}))->capture_default_str(),
      app.add_option("--levels", opt.noise_levels, "Noise levels N of smld and ddpm")->capture_default_str(),
      app.add_option("--batch", opt.batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str(),
      app.add_option("--lr", opt.adam.lr, "Adam learning rate")->capture_default_str(),
      app.add_option("--warmup", opt.adam.warmup, "Linear learning-rate warm-up steps")->capture_default_str(),
      app.add_option("--clip", opt.adam.grad_clip, "Gradient-norm clipping (0: off)")->capture_default_str(),
      app.add_option("--ema", opt.ema_decay, "EMA decay of the weights (0: off)")->capture_default_str(),
      app.add_option("--eps", opt.eps, "Smallest training time")->capture_default_str(),
      app.add_option("--hidden", net.hidden, "Hidden widths, comma-separated")->delimiter(',')->capture_default_str(),
      app.add_option("--activation", activation, "silu, relu, tanh or softplus")->capture_default_str(),
      app.add_option("--embedding", embedding, "Time embedding: fourier or sinusoidal")->capture_default_str(),
      app.add_option("--frequencies", net.frequencies, "Time-embedding frequencies")->capture_default_str(),
      app.add_option("--fourier-scale", net.fourier_scale, "Std of the Fourier frequencies")->capture_default_str(),
      app.add_flag("--residual", net.residual, "Residual hidden blocks")};
  auto& seed = tool.add_seed();
  auto& sde_options = tool.add_sde();
  auto& output = tool.add_output();
  fixed.push_back(app.get_option("--seed"));
  for (const char* name : {"--sde", "--sigma-min", "--sigma-max", "--beta-min", "--beta-max"})
    fixed.push_back(app.get_option(name));

  return tool.run(argc, argv, [&] {
    if (output.path == "-") throw sde::Error("give the model file with -o FILE");
    const sde::Matrix data = sde::read_matrix(data_path);
    try {
      sde::require_finite(data);
    } catch (const sde::Error& e) {
      throw e.with_file(sde::input_name(data_path));
    }
    std::optional<sde::Model> model;
    if (!resume.empty()) {
      for (const CLI::Option* o : fixed)
        if (o->count() > 0)
          throw sde::Error(o->get_name() + " cannot be given with --resume: the checkpoint's settings are used");
      model.emplace(sde::read_model(resume));
      try {
        opt = sde::train_options_from_json(sde::json::field(model->training, "settings", "training"));
        const auto& d = sde::json::field(model->training, "data", "training");
        if (d.value("fingerprint", "") != fmt::format("{:016x}", sde::data_fingerprint(data)))
          throw sde::Error("was trained on other data than " + sde::input_name(data_path));
      } catch (const sde::Error& e) {
        throw e.with_file(resume);
      }
    } else {
      net.dim = static_cast<int>(data.cols());
      net.activation = sde::parse_activation(activation);
      net.embedding = sde::parse_time_embedding(embedding);
      opt.loss = sde::parse_loss(loss);
      opt.weighting = sde::parse_weighting(weighting);
      opt.projection = sde::parse_projection(projection);
      opt.seed = seed;
      model.emplace(sde::Net(net, seed));
      model->sde = sde_options.make();
      model->parameterization = parameterization.empty() ? sde::default_parameterization(model->sde)
                                                         : sde::parse_parameterization(parameterization);
      if (model->parameterization == sde::Parameterization::scaled) model->sigma_data = sde::data_rms(data);
    }
    opt.threads = tool.threads();
    sde::Trainer trainer(*model, data, opt);
    model->training["settings"] = sde::train_options_to_json(opt);
    model->data_mean = data.colwise().mean();
    model->training["data"] = {{"rows", data.rows()},
                               {"fingerprint", fmt::format("{:016x}", sde::data_fingerprint(data))}};
    if (trainer.steps_done() >= steps)
      throw sde::Error(fmt::format("the checkpoint already has {} steps (--steps {})", trainer.steps_done(), steps));

    std::ofstream log;
    const bool jsonl = log_path.ends_with(".jsonl");
    if (!log_path.empty()) {
      log.open(log_path, resume.empty() ? std::ios::trunc : std::ios::app);
      if (!log) throw sde::Error(log_path, "cannot open for writing");
      if (resume.empty() && !jsonl) log << "step,loss\n";
    }
    auto save = [&](double last_loss) {
      trainer.save_state(*model);
      model->training["step"] = trainer.steps_done();
      model->training["final_loss"] = last_loss;
      sde::write_model(output.path, *model);
    };
    const std::int64_t first = trainer.steps_done();
    auto progress = tool.progress("train", static_cast<std::size_t>(steps - first));
    double loss_value = 0, loss_sum = 0;
    // The last step's loss is one minibatch's; the mean over the last 100
    // steps is the figure to compare runs by.
    std::vector<double> recent;
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t k = first + 1; k <= steps; ++k) {
      loss_value = trainer.step();
      loss_sum += loss_value;
      if (steps - k < 100) recent.push_back(loss_value);
      if (log.is_open() && k % log_every == 0)
        log << (jsonl ? fmt::format("{{\"step\": {}, \"loss\": {}}}\n", k, loss_value)
                      : fmt::format("{},{}\n", k, loss_value));
      if (checkpoint_every > 0 && k % checkpoint_every == 0 && k < steps) save(loss_value);
      progress->detail(fmt::format("loss {:.4f}", loss_value));
      progress->advance(1);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.reset();
    save(loss_value);
    auto& summary = tool.summary();
    summary["model"] = output.path;
    summary["parameterization"] = sde::to_string(model->parameterization);
    summary["steps"] = {{"from", first}, {"to", steps}};
    summary["final_loss"] = loss_value;
    summary["mean_loss"] = loss_sum / static_cast<double>(steps - first);
    summary["recent_loss"] = std::accumulate(recent.begin(), recent.end(), 0.0) / static_cast<double>(recent.size());
    summary["steps_per_second"] = static_cast<double>(steps - first) / seconds;
    summary["training"] = model->training;
    if (!truth_path.empty()) {
      std::vector<double> per_time;
      const double err = sde::score_relative_error(sde::NetScore(*model), sde::read_mixture(truth_path),
                                                   0.01, 1.0, 25, 2000, 12345, &per_time);
      summary["score_relative_error"] = err;
      summary["score_relative_error_by_t"] = per_time;
    }
  });
}
