/*
 * serialize.cpp - the libtorch-side file formats: dictionaries of tensors that Python's
 * torch.load reads (torch::pickle_save) and reading such files back, and optimizer state for
 * resume. safetensors is implemented in C (safetensors.c).
 */
/* before internal.h: its T() macro would clash with the jit headers' template parameters */
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/import_read.h>

#include "internal.h"
#include "optim_internal.h"

#include <fstream>
#include <iterator>
#include <sstream>

using namespace pictor;

namespace {
std::vector<char> read_all(const char *path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        throw std::runtime_error(std::string("cannot open '") + path + "': " + std::strerror(errno));
    return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

/* A torch file's bytes for libtorch's zip reader, every read checked against the size. libtorch
 * 1.13's own in-memory reader (behind torch::pickle_load) copies whatever range miniz asks for,
 * and a truncated torch file makes it read past its buffer (found by tests/test_hostile_weights.c
 * under ASan). A range past the end comes back short, which miniz reports as a bad archive (no
 * exception is thrown through miniz's C frames). */
class CheckedReader : public caffe2::serialize::ReadAdapterInterface
{
  public:
    explicit CheckedReader(std::vector<char> data) : data_(std::move(data)) {}
    size_t size() const override { return data_.size(); }
    size_t read(uint64_t pos, void *buf, size_t n, const char *) const override
    {
        if (pos >= data_.size())
            return 0;
        size_t k = std::min<size_t>(n, data_.size() - static_cast<size_t>(pos));
        std::memcpy(buf, data_.data() + pos, k);
        return k;
    }

  private:
    std::vector<char> data_;
};

/* torch::pickle_load's steps, over CheckedReader. */
c10::IValue load_pickled(std::vector<char> bytes)
{
    caffe2::serialize::PyTorchStreamReader reader(
        std::make_shared<CheckedReader>(std::move(bytes)));
    return torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt,
                                             c10::nullopt, reader);
}

/* The state tensors of one parameter (moments, momentum buffer), whichever optimizer. */
std::vector<at::Tensor> state_tensors(const torch::optim::OptimizerParamState *st)
{
    if (auto a = dynamic_cast<const torch::optim::AdamParamState *>(st))
        return {a->exp_avg(), a->exp_avg_sq(), a->max_exp_avg_sq()};
    if (auto w = dynamic_cast<const torch::optim::AdamWParamState *>(st))
        return {w->exp_avg(), w->exp_avg_sq(), w->max_exp_avg_sq()};
    if (auto m = dynamic_cast<const torch::optim::SGDParamState *>(st))
        return {m->momentum_buffer()};
    return {};
}

/* libtorch's load accepts state of the wrong shape and fails at the next step: check now. */
void check_state_shapes(const torch::optim::Optimizer &opt)
{
    size_t index = 0;
    for (const auto &g : opt.param_groups()) {
        for (const auto &p : g.params()) {
            auto it = opt.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
            if (it != opt.state().end())
                for (const at::Tensor &t : state_tensors(it->second.get()))
                    if (t.defined() && t.sizes() != p.sizes())
                        throw std::invalid_argument(
                            "saved state of parameter " + std::to_string(index) + " is " +
                            describe(t) + " but the parameter is " + describe(p));
            index++;
        }
    }
}

void write_atomic(const char *path, const std::string &bytes)
{
    if (pt_write_file_atomic(path, bytes.data(), bytes.size()) != PT_OK)
        throw std::runtime_error(pt_error());
}
} // namespace

extern "C" {

pt_status pt_torch_save(const pt_dict *d, const char *path)
{
    PT_TRY_STATUS({
        if (!d || !path)
            throw std::invalid_argument("dict and path are required");
        c10::Dict<std::string, at::Tensor> dict;
        for (int i = 0; i < pt_dict_size(d); i++)
            dict.insert(pt_dict_name(d, i), T(pt_dict_tensor(d, i)).detach());
        std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
        write_atomic(path, std::string(bytes.begin(), bytes.end()));
    })
}

pt_dict *pt_torch_load(const char *path)
{
    pt_dict *out = nullptr;
    try {
        if (!path)
            throw std::invalid_argument("path is NULL");
        std::vector<char> bytes = read_all(path);
        c10::IValue v;
        try {
            v = load_pickled(std::move(bytes));
        } catch (const std::exception &e) {
            throw std::runtime_error("'" + std::string(path) + "' is not a readable torch file (" +
                                     first_line(e.what()) +
                                     "); from Python save dict(state_dict), not an OrderedDict");
        }
        if (!v.isGenericDict())
            throw std::runtime_error("'" + std::string(path) + "' holds a " + v.tagKind() +
                                     ", expected a dict of tensors");
        out = pt_dict_new();
        for (const auto &kv : v.toGenericDict()) {
            if (!kv.key().isString() || !kv.value().isTensor())
                throw std::runtime_error("'" + std::string(path) +
                                         "': every entry must map a string to a tensor");
            pt_tensor *w = wrap(kv.value().toTensor());
            if (pt_dict_put(out, kv.key().toStringRef().c_str(), w) != PT_OK)
                throw std::runtime_error(pt_error());
        }
        return out;
    } catch (const std::exception &e) {
        pt_dict_free(out);
        set_error(std::string("pt_torch_load: ") + first_line(e.what()));
    }
    return nullptr;
}

pt_status pt_optim_save_buffer(const pt_optim *o, void **buf, size_t *len)
{
    PT_TRY_STATUS({
        if (!o || !o->opt || !buf || !len)
            throw std::invalid_argument("need an optimizer with parameters, buf and len");
        torch::serialize::OutputArchive archive;
        o->opt->save(archive);
        std::ostringstream os;
        archive.save_to(os);
        std::string s = os.str();
        void *p = std::malloc(s.size() ? s.size() : 1);
        if (!p)
            throw std::bad_alloc();
        std::memcpy(p, s.data(), s.size());
        *buf = p;
        *len = s.size();
    })
}

pt_status pt_optim_load_buffer(pt_optim *o, const void *buf, size_t len)
{
    PT_TRY_STATUS({
        if (!o || !o->opt || !buf)
            throw std::invalid_argument("need an optimizer with parameters and a buffer");
        /* keep the current state to put back if the saved one does not fit */
        torch::serialize::OutputArchive keep;
        o->opt->save(keep);
        std::ostringstream kept;
        keep.save_to(kept);
        try {
            torch::serialize::InputArchive archive;
            archive.load_from(static_cast<const char *>(buf), len);
            o->opt->load(archive);
            check_state_shapes(*o->opt);
        } catch (...) {
            std::string k = kept.str();
            torch::serialize::InputArchive back;
            back.load_from(k.data(), k.size());
            o->opt->load(back);
            throw;
        }
    })
}

pt_status pt_optim_save(const pt_optim *o, const char *path)
{
    void *buf = nullptr;
    size_t len = 0;
    if (pt_optim_save_buffer(o, &buf, &len) != PT_OK)
        return PT_ERR;
    pt_status st = pt_write_file_atomic(path, buf, len);
    std::free(buf);
    return st;
}

pt_status pt_optim_load(pt_optim *o, const char *path)
{
    PT_TRY_STATUS({
        std::vector<char> bytes = read_all(path);
        if (pt_optim_load_buffer(o, bytes.data(), bytes.size()) != PT_OK)
            throw std::runtime_error(std::string("'") + path + "': " + pt_error());
    })
}

} /* extern "C" */
