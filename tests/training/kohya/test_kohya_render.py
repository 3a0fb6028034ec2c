"""The TOML files the sd-scripts backend renders: every key is one sd-scripts defines, the
pixel-art choices are in them, and they read back exactly.

The option lists below were read off kohya-ss/sd-scripts at commit
48d368fa557731ad0488c07304dfeba8c07910eb (2026-02-16): every `--option` that
`sdxl_train_network.setup_parser` adds (train_network.setup_parser,
train_util.add_sd_models_arguments / add_dataset_arguments / add_training_arguments /
add_masked_loss_arguments / add_optimizer_arguments, sai_model_spec.add_model_spec_arguments,
deepspeed_utils.add_deepspeed_arguments, config_util.add_config_arguments,
custom_train_functions.add_custom_train_arguments, sdxl_train_util.add_sdxl_training_arguments,
utils.add_logging_arguments), and the dataset-config schema of
library/config_util.py::ConfigSanitizer (DreamBooth subsets, dropout on). sd-scripts reads
its `--config_file` into argparse's namespace without checking names, so a key outside
these lists would be ignored silently: that is what these tests guard against.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from training.errors import SpecError
from training.kohya.render import (
    RunFiles,
    RunInputs,
    dataset_config,
    held_out_count,
    optimizer_type,
    to_toml,
    training_config,
)
from training.spec import TrainingSpec

SD_SCRIPTS_COMMIT = "48d368fa557731ad0488c07304dfeba8c07910eb"

# Every argparse option of sdxl_train_network.py (dest names).
ARGPARSE_OPTIONS = frozenset(
    """
        adaptive_noise_scale alpha_mask async_upload base_weights
        base_weights_multiplier bucket_no_upscale bucket_reso_steps cache_info
        cache_latents cache_latents_to_disk cache_text_encoder_outputs
        cache_text_encoder_outputs_to_disk caption_dropout_every_n_epochs
        caption_dropout_rate caption_extension caption_extention caption_prefix
        caption_separator caption_suffix caption_tag_dropout_rate clip_skip color_aug
        conditioning_data_dir config_file console_log_file console_log_level
        console_log_simple cpu_offload_checkpointing dataset_class dataset_config
        dataset_repeats ddp_gradient_as_bucket_view ddp_static_graph ddp_timeout
        debiased_estimation_loss debug_dataset deepspeed dim_from_weights
        disable_mmap_load_safetensors dynamo_backend enable_bucket enable_wildcard
        face_crop_aug_range flip_aug fp16_master_weights_and_gradients fp8_base
        fp8_base_unet full_bf16 full_fp16 fused_backward_pass
        gradient_accumulation_steps gradient_checkpointing highvram huber_c huber_scale
        huber_schedule huggingface_path_in_repo huggingface_repo_id
        huggingface_repo_type huggingface_repo_visibility huggingface_token in_json
        initial_epoch initial_step ip_noise_gamma ip_noise_gamma_random_strength
        keep_tokens keep_tokens_separator learning_rate log_config log_prefix
        log_tracker_config log_tracker_name log_with logging_dir loss_type lowram
        lr_decay_steps lr_scheduler lr_scheduler_args lr_scheduler_min_lr_ratio
        lr_scheduler_num_cycles lr_scheduler_power lr_scheduler_timescale
        lr_scheduler_type lr_warmup_steps masked_loss max_bucket_reso
        max_data_loader_n_workers max_grad_norm max_timestep max_token_length
        max_train_epochs max_train_steps max_validation_steps mem_eff_attn
        metadata_author metadata_description metadata_is_negative_embedding
        metadata_license metadata_merged_from metadata_preprocessor metadata_tags
        metadata_thumbnail metadata_title metadata_trigger_phrase metadata_usage_hint
        min_bucket_reso min_snr_gamma min_timestep mixed_precision
        multires_noise_discount multires_noise_iterations network_alpha network_args
        network_dim network_dropout network_module network_train_text_encoder_only
        network_train_unet_only network_weights no_half_vae no_metadata noise_offset
        noise_offset_random_strength offload_optimizer_device
        offload_optimizer_nvme_path offload_param_device offload_param_nvme_path
        optimizer_args optimizer_type output_config output_dir output_name
        persistent_data_loader_workers pretrained_model_name_or_path prior_loss_weight
        random_crop reg_data_dir resize_interpolation resolution resume
        resume_from_huggingface sample_at_first sample_every_n_epochs
        sample_every_n_steps sample_prompts sample_sampler save_every_n_epochs
        save_every_n_steps save_last_n_epochs save_last_n_epochs_state save_last_n_steps
        save_last_n_steps_state save_model_as save_n_epoch_ratio save_precision
        save_state save_state_on_train_end save_state_to_huggingface
        scale_v_pred_loss_like_noise_pred scale_weight_norms sdpa secondary_separator
        seed shuffle_caption skip_cache_check skip_until_initial_step text_encoder_lr
        token_warmup_min token_warmup_step tokenizer_cache_dir torch_compile
        train_batch_size train_data_dir training_comment unet_lr use_8bit_adam
        use_lion_optimizer v2 v_parameterization v_pred_like_loss vae vae_batch_size
        validate_every_n_epochs validate_every_n_steps validation_seed validation_split
        wandb_api_key wandb_run_name weighted_captions xformers zero3_init_flag
        zero3_save_16bit_model zero_stage zero_terminal_snr
    """.split()  # noqa: SIM905
)
# The subset of those that are `action="store_true"` flags (a TOML boolean).
STORE_TRUE = frozenset(
    """
        alpha_mask async_upload bucket_no_upscale cache_info cache_latents
        cache_latents_to_disk cache_text_encoder_outputs
        cache_text_encoder_outputs_to_disk color_aug console_log_simple
        cpu_offload_checkpointing ddp_gradient_as_bucket_view ddp_static_graph
        debiased_estimation_loss debug_dataset deepspeed dim_from_weights
        disable_mmap_load_safetensors enable_bucket enable_wildcard flip_aug
        fp16_master_weights_and_gradients fp8_base fp8_base_unet full_bf16 full_fp16
        fused_backward_pass gradient_checkpointing highvram
        ip_noise_gamma_random_strength log_config lowram masked_loss mem_eff_attn
        network_train_text_encoder_only network_train_unet_only no_half_vae no_metadata
        noise_offset_random_strength output_config persistent_data_loader_workers
        random_crop resume_from_huggingface sample_at_first save_state
        save_state_on_train_end save_state_to_huggingface
        scale_v_pred_loss_like_noise_pred sdpa shuffle_caption skip_cache_check
        skip_until_initial_step torch_compile use_8bit_adam use_lion_optimizer v2
        v_parameterization weighted_captions xformers zero3_init_flag
        zero3_save_16bit_model zero_terminal_snr
    """.split()  # noqa: SIM905
)
# config_util.ConfigSanitizer: DATASET_ASCENDABLE + SUBSET_ASCENDABLE + DB_SUBSET_ASCENDABLE
# + DO_SUBSET_ASCENDABLE (the [general] table and each [[datasets]] table) ...
_SUBSET_ASCENDABLE = frozenset(
    """
        color_aug face_crop_aug_range flip_aug num_repeats random_crop shuffle_caption
        keep_tokens keep_tokens_separator secondary_separator caption_separator
        enable_wildcard token_warmup_min token_warmup_step caption_prefix caption_suffix
        custom_attributes resize_interpolation caption_dropout_every_n_epochs
        caption_dropout_rate caption_tag_dropout_rate caption_extension class_tokens
        cache_info
    """.split()  # noqa: SIM905
)
GENERAL_KEYS = _SUBSET_ASCENDABLE | frozenset(
    """
        batch_size bucket_no_upscale bucket_reso_steps enable_bucket max_bucket_reso
        min_bucket_reso validation_seed validation_split resolution network_multiplier
    """.split()  # noqa: SIM905
)
DATASET_KEYS = GENERAL_KEYS | {"subsets"}
# ... + DB_SUBSET_DISTINCT (each [[datasets.subsets]] table).
SUBSET_KEYS = _SUBSET_ASCENDABLE | {"image_dir", "is_reg", "alpha_mask"}


def _files(tmp_path: Path) -> RunFiles:
    return RunFiles.in_folder(tmp_path / "run")


def _inputs(tmp_path: Path, **changes: object) -> RunInputs:
    values: dict[str, object] = {
        "base_checkpoint": tmp_path / "sdxl.safetensors",
        "output_name": "knight",
        "trigger": "pxlknight",
        "tokenizer_cache_dir": tmp_path / "tokenizers",
        "has_bitsandbytes": False,
        "resume_state": tmp_path / "run/output/knight-step00000500-state",
        "images": 50,
    }
    values.update(changes)
    return RunInputs(**values)  # type: ignore[arg-type]


def test_every_rendered_training_key_is_an_sd_scripts_option(tmp_path: Path) -> None:
    spec = TrainingSpec(min_snr_gamma=5.0)  # the optional keys rendered too
    table = training_config(spec, _files(tmp_path), _inputs(tmp_path))
    assert {"resume", "min_snr_gamma", "validate_every_n_steps"} <= set(table)
    unknown = sorted(set(table) - ARGPARSE_OPTIONS)
    assert not unknown, f"not options of sd-scripts @ {SD_SCRIPTS_COMMIT[:10]}: {unknown}"


def test_booleans_go_only_to_store_true_flags_and_flags_get_booleans(tmp_path: Path) -> None:
    table = training_config(TrainingSpec(), _files(tmp_path), _inputs(tmp_path))
    wrong = sorted(k for k, v in table.items() if isinstance(v, bool) != (k in STORE_TRUE))
    assert not wrong


def test_every_dataset_key_is_in_sd_scripts_dataset_schema(tmp_path: Path) -> None:
    table = dataset_config(TrainingSpec(), tmp_path / "ds", images=50)
    assert "validation_split" in table["general"]  # type: ignore[operator]
    general, datasets = table.pop("general"), table.pop("datasets")
    assert not table  # nothing but [general] and [[datasets]]
    assert isinstance(general, dict) and isinstance(datasets, list)
    assert not set(general) - GENERAL_KEYS
    for dataset in datasets:
        assert not set(dataset) - DATASET_KEYS
        for subset in dataset["subsets"]:
            assert not set(subset) - SUBSET_KEYS
            assert subset["image_dir"] == str((tmp_path / "ds").absolute())


def test_pixel_art_choices_are_rendered(tmp_path: Path) -> None:
    spec = TrainingSpec(rank=16, alpha=8.0, steps=1200, learning_rate=2e-4)
    config = training_config(spec, _files(tmp_path), _inputs(tmp_path, resume_state=None))
    dataset = dataset_config(spec, tmp_path / "ds")
    expected = {
        "resize_interpolation": "nearest",
        "network_module": "networks.lora",
        "network_dim": 16,
        "network_alpha": 8.0,
        "network_train_unet_only": True,
        "cache_text_encoder_outputs": True,
        "cache_latents": True,
        "cache_latents_to_disk": False,  # no .npz files written into the dataset folder
        "save_model_as": "safetensors",
        "save_precision": "fp16",
        "max_train_steps": 1200,
        "learning_rate": 2e-4,
        "mixed_precision": "bf16",
        "gradient_checkpointing": True,
        "tokenizer_cache_dir": str((tmp_path / "tokenizers").absolute()),
        "output_name": "knight",
        "metadata_trigger_phrase": "pxlknight",
        "log_with": "tensorboard",
    }
    assert {k: config[k] for k in expected} == expected
    assert "resume" not in config
    general = dataset["general"]
    assert isinstance(general, dict)
    assert general["resize_interpolation"] == "nearest"
    assert (general["color_aug"], general["random_crop"], general["flip_aug"]) == (False,) * 3
    assert general["bucket_no_upscale"] is True and general["shuffle_caption"] is False


def test_adamw_is_8bit_only_where_bitsandbytes_is_installed() -> None:
    assert optimizer_type(TrainingSpec(), has_bitsandbytes=True) == "AdamW8bit"
    assert optimizer_type(TrainingSpec(), has_bitsandbytes=False) == "AdamW"
    with pytest.raises(SpecError) as refused:
        optimizer_type(TrainingSpec(optimizer="adamw8bit"), has_bitsandbytes=False)
    assert refused.value.field == "optimizer" and "bitsandbytes" in refused.value.reason


@pytest.mark.parametrize("key", ["color_aug", "random_crop"])
def test_augmentation_with_cached_latents_is_refused_before_a_launch(
    tmp_path: Path, key: str
) -> None:
    spec = TrainingSpec(**{key: True})
    with pytest.raises(SpecError) as refused:
        dataset_config(spec, tmp_path)
    assert refused.value.field == key and "cache_latents" in refused.value.reason
    uncached = TrainingSpec(**{key: True, "cache_latents": False})
    assert dataset_config(uncached, tmp_path)["general"][key] is True  # type: ignore[index]


def test_both_tables_read_back_exactly(tmp_path: Path) -> None:
    odd = tmp_path / 'dir "quoted" \\ back\tslash ünïcode'
    spec = TrainingSpec(min_snr_gamma=5.0, learning_rate=1e-5)
    config = training_config(spec, _files(odd), _inputs(odd, trigger='say "hi"\nnow'))
    dataset = dataset_config(spec, odd)
    assert tomllib.loads(to_toml(config)) == config
    assert tomllib.loads(to_toml(dataset)) == dataset


def _sd_scripts_split(images: int, split: float) -> tuple[int, int]:
    """(training, validation) image counts as library/train_util.split_train_val makes them."""
    # training: the first ceil(n * (1 - split)) shuffled paths; validation: the last
    # round(n * split). Together exactly n means no image is in both or in neither.
    return math.ceil(images * (1 - split)), round(images * split)


@pytest.mark.parametrize("images", range(1, 201))
def test_sd_scripts_holds_out_exactly_the_embedded_trainers_count(images: int) -> None:
    general = dataset_config(TrainingSpec(), Path("ds"), images)["general"]
    assert isinstance(general, dict)
    held = held_out_count(images)
    assert held == (max(1, images // 10) if images >= 5 else 0)
    if not held:
        assert "validation_split" not in general
        return
    assert _sd_scripts_split(images, general["validation_split"]) == (images - held, held)


def test_validation_is_asked_for_only_when_images_are_held_out(tmp_path: Path) -> None:
    few = training_config(TrainingSpec(), _files(tmp_path), _inputs(tmp_path, images=4))
    many = training_config(TrainingSpec(), _files(tmp_path), _inputs(tmp_path, images=5))
    assert "validate_every_n_steps" not in few
    assert many["validate_every_n_steps"] == TrainingSpec().validate_every_n_steps
