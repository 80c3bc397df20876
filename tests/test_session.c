/*
 * test_session.c - the session's choices that tests of whole runs cannot see directly:
 * the augmentation of training and of evaluation (core/session.h: session_augment).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/session.h"

Test(session, evaluation_mirrors_training_geometry_without_randomness)
{
    settings c;
    memset(&c, 0, sizeof c);
    c.data.image_size = 0;
    c.data.augment.resize = 36;
    c.data.augment.crop = 32;
    c.data.augment.hflip = 0.5;
    c.data.augment.blur_prob = 0.3;
    c.data.augment.blur_sigma = 1.0;

    aug_config t = session_augment(&c, 1);
    cr_expect_eq(t.resize_h, 36);
    cr_expect_eq(t.resize_first, 1);
    cr_expect_eq(t.crop_h, 32);
    cr_expect_eq(t.crop_center, 0, "training crops at random");
    cr_expect_float_eq(t.hflip_prob, 0.5f, 1e-6);

    aug_config e = session_augment(&c, 0);
    cr_expect_eq(e.resize_h, 36, "the training resize");
    cr_expect_eq(e.resize_w, 36);
    cr_expect_eq(e.resize_first, 1);
    cr_expect_eq(e.crop_h, 32, "then the centre crop of training's size");
    cr_expect_eq(e.crop_w, 32);
    cr_expect_eq(e.crop_center, 1);
    cr_expect_eq(e.hflip_prob, 0.0f);
    cr_expect_eq(e.blur_prob, 0.0f);

    /* without a crop, evaluation resizes to data.image_size */
    c.data.augment.crop = 0;
    c.data.image_size = 48;
    e = session_augment(&c, 0);
    cr_expect_eq(e.resize_h, 48);
    cr_expect_eq(e.crop_h, 0);
    cr_expect_eq(e.resize_first, 0);
}
