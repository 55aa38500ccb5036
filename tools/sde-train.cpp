// sde-train: trains a time-dependent score network on data.npy by score
// matching and writes model.json; checkpoints atomically and resumes bit for bit.
#include <fmt/format.h>

#include <numeric>

#include "cli.hpp"
#include "error.hpp"
#include "io.hpp"
#include "json_fields.hpp"
#include "metrics.hpp"
#include "train.hpp"
#include "training_log.hpp"

namespace {

// The learned score's relative error against the exact one, per band of t.
constexpr double kBands[] = {1e-5, 0.01, 0.1, 0.4, 1.0};

}  // namespace

using sde::Json;

int main(int argc, char** argv) {
  sde::cli::Tool tool("sde-train", "Train a score network on data (N x d .npy) by score matching",
                      "sde-train data.npy -o model.json --log loss.csv\n"
                      "sde-train data.npy -o model.json --truth data/ring8.json --validation held_out.npy\n"
                      "sde-train data.npy --recipe reference --sde ve --steps 10000 -o ve.json\n"
                      "sde-train data.npy --resume model.json -o longer.json\n");
  auto& app = tool.app();
  // Help shows the standard recipe's values; a recipe fills what is not given.
  const sde::TrainRecipe shown = sde::train_recipe(sde::Recipe::standard, sde::Sde::vp());
  sde::TrainOptions opt = shown.options;
  sde::NetConfig net = shown.net;
  std::int64_t steps = shown.steps, checkpoint_every = 0, eval_every = 1000;
  std::string data_path, resume, log_path, truth_path, validation_path, recipe = "standard";
  std::string loss = to_string(opt.loss), weighting = to_string(opt.weighting), parameterization = "edm",
              projection = "rademacher", time_sampling = to_string(opt.time_sampling),
              lr_schedule = to_string(opt.adam.schedule), activation = "silu", embedding = "fourier";
  std::vector<double> lognormal{opt.lognormal_mean, opt.lognormal_std};
  int log_every = 10;
  double input_gain = 0;  // 0: default_input_gain

  app.add_option("data", data_path, "Training data, N x d .npy ('-' for stdin)")->required();
  app.add_option("--steps", steps, "Total training steps")->check(sde::cli::PositiveCount)->capture_default_str();
  app.add_option("--resume", resume, "Continue from this checkpoint (its settings are used)");
  app.add_option("--checkpoint-every", checkpoint_every, "Write the model every K steps")
      ->check(sde::cli::NonNegativeCount);
  app.add_option("--log", log_path,
                 "Loss log: .csv or .jsonl (on --resume continued after the checkpoint's step)");
  app.add_option("--log-every", log_every, "Log the loss every K steps")->check(sde::cli::PositiveCount)->capture_default_str();
  app.add_option("--validation", validation_path,
                 "Held-out rows (.npy): their loss at fixed draws, with the EMA weights, logged every --eval-every steps");
  app.add_option("--truth", truth_path,
                 "Mixture spec of the data: the learned score's relative error vs the exact score per band of t "
                 "(logged every --eval-every steps, and in the summary); the target of --loss oracle");
  app.add_option("--eval-every", eval_every, "Steps between validation and truth evaluations")
      ->check(sde::cli::PositiveCount)->capture_default_str();
  // Options fixed by a checkpoint: they may not be given with --resume.
  std::vector<CLI::Option*> fixed = {
      app.add_option("--recipe", recipe,
                     "Settings not given: standard (the defaults shown), or reference (the PyTorch peer's: noise "
                     "prediction, t ~ U(eps, 1), lambda = s^2, constant lr 1e-3, EMA 0.999, 10000 steps)")
          ->check(CLI::IsMember({"standard", "reference"}))->capture_default_str(),
      app.add_option("--loss", loss,
                     "dsm, stf (dsm with the target averaged over the batch's posterior), smld, ddpm, ssm, or "
                     "oracle (regression on the exact score of --truth)")
          ->check(CLI::IsMember({"dsm", "stf", "smld", "ddpm", "ssm", "oracle"}))->capture_default_str(),
      app.add_option("--parameterization", parameterization,
                     "edm: preconditioned denoiser (EDM) centred on the data mean; noise: score = -net(x, t)/s(t); "
                     "scaled: noise with x(t) scaled to unit variance")
          ->check(CLI::IsMember({"noise", "scaled", "edm"}))->capture_default_str(),
      app.add_option("--weighting", weighting, "lambda(t): sigma2 = s(t)^2, likelihood = g(t)^2, unit = equal weight on the network's output")
          ->check(CLI::IsMember({"sigma2", "likelihood", "unit"}))->capture_default_str(),
      app.add_option("--time-sampling", time_sampling,
                     "uniform t, lognormal sigma (--lognormal), or importance (t ~ g^2/s^2, reweighted)")
          ->check(CLI::IsMember({"uniform", "lognormal", "importance"}))->capture_default_str(),
      app.add_option("--lognormal", lognormal, "MEAN,STD of ln sigma for --time-sampling lognormal")
          ->delimiter(',')->expected(2)->capture_default_str(),
      app.add_option("--projection", projection, "Sliced score matching: gaussian or rademacher")
          ->check(CLI::IsMember({"gaussian", "rademacher"}))->capture_default_str(),
      app.add_option("--levels", opt.noise_levels, "Noise levels N of smld and ddpm")->capture_default_str(),
      app.add_option("--batch", opt.batch, "Batch size")->check(sde::cli::PositiveCount)->capture_default_str(),
      app.add_option("--lr", opt.adam.lr, "Adam learning rate")->capture_default_str(),
      app.add_option("--lr-schedule", lr_schedule, "After warm-up: constant, cosine (to 0 at --steps) or rsqrt")
          ->check(CLI::IsMember({"constant", "cosine", "rsqrt"}))->capture_default_str(),
      app.add_option("--warmup", opt.adam.warmup, "Linear learning-rate warm-up steps")->capture_default_str(),
      app.add_option("--clip", opt.adam.grad_clip, "Gradient-norm clipping (0: off)")->capture_default_str(),
      app.add_option("--ema", opt.ema.decay, "Fixed EMA decay of the weights (0: off)")->capture_default_str(),
      app.add_option("--ema-length", opt.ema.length,
                     "Power-function EMA of this length relative to the steps so far (EDM2's sigma_rel)")
          ->capture_default_str(),
      app.add_option("--eps", opt.eps, "Smallest training time")->check(sde::cli::Positive)->capture_default_str(),
      app.add_option("--hidden", net.hidden, "Hidden widths, comma-separated")->delimiter(',')->capture_default_str(),
      app.add_option("--activation", activation, "silu, relu, tanh or softplus")->capture_default_str(),
      app.add_option("--embedding", embedding, "Time embedding: fourier or sinusoidal")->capture_default_str(),
      app.add_option("--frequencies", net.frequencies, "Time-embedding frequencies")->capture_default_str(),
      app.add_option("--fourier-scale", net.fourier_scale, "Std of the Fourier frequencies")->capture_default_str(),
      app.add_flag("--residual", net.residual, "Residual hidden blocks"),
      app.add_option("--input-gain", input_gain, "edm: the gain on the network's unit-scale input (default 2 sqrt(nf/d))")
          ->check(sde::cli::PositiveCount)};
  auto& seed = tool.add_seed();
  auto& sde_options = tool.add_sde();
  auto& output = tool.add_output();
  // The model is JSON: no stdout, no dtype.
  app.get_option("--output")->description("Model file (JSON)");
  app.remove_option(app.get_option("--dtype"));
  fixed.push_back(app.get_option("--seed"));
  for (const char* name : {"--sde", "--sigma-min", "--sigma-max", "--beta-min", "--beta-max"})
    fixed.push_back(app.get_option(name));
  const auto given = [&](const char* name) { return app.get_option(name)->count() > 0; };
  // After parsing, before any work: a new run takes from its recipe what was
  // not given, and an option that would have no effect is a usage error.
  app.final_callback([&] {
    if (given("--eval-every") && validation_path.empty() && truth_path.empty())
      throw CLI::ValidationError("--eval-every", "needs --validation or --truth");
    if (!resume.empty()) {
      // A cosine run ends where its schedule does; other runs need to be told.
      if (!given("--steps")) steps = 0;
      return;
    }
    sde::Sde sde_kind;
    try {
      sde_kind = sde_options.make();
    } catch (const sde::Error&) {
      return;  // the run reports it
    }
    // smld and ddpm are the paper's own objectives: the reference recipe's settings.
    const bool discrete = loss == "smld" || loss == "ddpm";
    const sde::TrainRecipe r = sde::train_recipe(discrete && !given("--recipe") ? sde::Recipe::reference
                                                                                 : sde::parse_recipe(recipe),
                                                 sde_kind, given("--steps") ? steps : 0);
    if (!given("--loss")) loss = to_string(r.options.loss);
    if (!given("--parameterization")) parameterization = to_string(r.parameterization);
    if (!given("--weighting")) weighting = to_string(r.options.weighting);
    if (!given("--time-sampling")) time_sampling = to_string(r.options.time_sampling);
    if (!given("--lr-schedule")) lr_schedule = to_string(r.options.adam.schedule);
    if (!given("--lr")) opt.adam.lr = r.options.adam.lr;
    if (!given("--warmup")) opt.adam.warmup = r.options.adam.warmup;
    if (!given("--batch")) opt.batch = r.options.batch;
    steps = r.steps;
    if (!given("--ema") && !given("--ema-length")) opt.ema = r.options.ema;
    if (given("--ema") != given("--ema-length")) (given("--ema") ? opt.ema.length : opt.ema.decay) = 0;
    if (given("--lognormal") && time_sampling != "lognormal")
      throw CLI::ValidationError("--lognormal", "applies to --time-sampling lognormal only");
    if (given("--input-gain") && parameterization != "edm")
      throw CLI::ValidationError("--input-gain", "applies to the edm parameterization only");
  });

  return tool.run(argc, argv, [&] {
    if (output.path == "-") throw sde::Error("give the model file with -o FILE");
    const sde::Matrix data = sde::read_matrix(data_path);
    try {
      sde::require_finite(data);
    } catch (const sde::Error& e) {
      throw e.with_file(sde::input_name(data_path));
    }
    std::optional<sde::GaussianMixture> truth;
    if (!truth_path.empty()) truth.emplace(sde::read_mixture(truth_path));
    std::optional<sde::Matrix> validation;
    if (!validation_path.empty()) {
      validation.emplace(sde::read_matrix(validation_path));
      try {
        sde::require_finite(*validation);
      } catch (const sde::Error& e) {
        throw e.with_file(sde::input_name(validation_path));
      }
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
      const bool cosine = opt.adam.schedule == sde::LrSchedule::cosine;
      if (steps == 0 && !cosine) throw sde::Error(resume, "give --steps: the step to train to");
      if (steps == 0) steps = opt.adam.horizon;
      if (cosine && steps != opt.adam.horizon)
        throw sde::Error(resume, fmt::format("its cosine schedule ends at step {}: resume with --steps {}",
                                             opt.adam.horizon, opt.adam.horizon));
    } else {
      net.dim = static_cast<int>(data.cols());
      net.activation = sde::parse_activation(activation);
      net.embedding = sde::parse_time_embedding(embedding);
      opt.loss = sde::parse_loss(loss);
      opt.weighting = sde::parse_weighting(weighting);
      opt.projection = sde::parse_projection(projection);
      opt.time_sampling = sde::parse_time_sampling(time_sampling);
      opt.lognormal_mean = lognormal[0];
      opt.lognormal_std = lognormal[1];
      opt.adam.schedule = sde::parse_lr_schedule(lr_schedule);
      opt.adam.horizon = opt.adam.schedule == sde::LrSchedule::cosine ? steps : 0;  // only cosine has an end
      opt.seed = seed;
      model.emplace(sde::Net(net, seed));
      model->sde = sde_options.make();
      model->parameterization = sde::parse_parameterization(parameterization);
      if (model->parameterization != sde::Parameterization::noise)
        model->sigma_data = sde::data_scale(model->parameterization, data);
      if (model->parameterization == sde::Parameterization::edm)
        model->input_gain = input_gain > 0 ? input_gain : sde::default_input_gain(net);
      model->data_mean = data.colwise().mean();  // before training: edm centres on it
    }
    if (opt.loss == sde::Loss::oracle && !truth) throw sde::Error("--loss oracle needs --truth SPEC");
    opt.threads = tool.threads();
    sde::Trainer trainer(*model, data, opt, truth ? &*truth : nullptr);
    model->training["settings"] = sde::train_options_to_json(opt);
    model->training["data"] = {{"rows", data.rows()},
                               {"fingerprint", fmt::format("{:016x}", sde::data_fingerprint(data))}};
    if (trainer.steps_done() >= steps)
      throw sde::Error(fmt::format("the checkpoint already has {} steps (--steps {})", trainer.steps_done(), steps));
    if (validation) {  // its errors before any work
      try {
        trainer.validation_loss(*validation);
      } catch (const sde::Error& e) {
        throw e.with_file(sde::input_name(validation_path));
      }
    }

    std::optional<sde::TrainingLog> log;
    if (!log_path.empty())
      log.emplace(log_path, validation.has_value(), truth ? std::span<const double>(kBands) : std::span<const double>(),
                  resume.empty() ? -1 : trainer.steps_done());
    auto save = [&](double last_loss) {
      trainer.save_state(*model);
      model->training["step"] = trainer.steps_done();
      model->training["final_loss"] = last_loss;
      sde::write_model(output.path, *model);
      if (log) log->flush();
    };
    // Held-out loss and score error against the truth, with the weights as of now.
    auto evaluate = [&](std::int64_t k, double loss_value) {
      Json e = {{"step", k}, {"loss", loss_value}};
      if (validation) e["validation"] = trainer.validation_loss(*validation);
      if (truth) {
        trainer.save_state(*model);
        e["score_error_by_t_band"] = sde::score_error_by_band(sde::NetScore(*model), *truth, kBands, 12345);
      }
      return e;
    };
    const std::int64_t first = trainer.steps_done();
    auto progress = tool.progress("train", static_cast<std::size_t>(steps - first));
    double loss_value = 0, loss_sum = 0;
    // The last step's loss is one minibatch's; the mean over the last 100
    // steps is the figure to compare runs by.
    std::vector<double> recent;
    Json evaluations = Json::array();
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t k = first + 1; k <= steps; ++k) {
      loss_value = trainer.step();
      loss_sum += loss_value;
      if (steps - k < 100) recent.push_back(loss_value);
      const bool eval_now = (validation || truth) && (k % eval_every == 0 || k == steps);
      if (eval_now) evaluations.push_back(evaluate(k, loss_value));
      if (log && (k % log_every == 0 || eval_now))
        log->write(eval_now ? evaluations.back() : Json{{"step", k}, {"loss", loss_value}});
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
    if (!evaluations.empty()) summary["evaluations"] = evaluations;
    if (truth) {
      std::vector<double> per_time;
      const double err = sde::score_relative_error(sde::NetScore(*model), *truth, 0.01, 1.0, 25, 2000, 12345, &per_time);
      summary["score_relative_error"] = err;
      summary["score_relative_error_by_t"] = per_time;
      summary["score_error_t_bands"] = kBands;
    }
  });
}
