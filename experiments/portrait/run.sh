#!/bin/sh
# experiments/portrait/run.sh - seed 001's study at CPU scale: segmentation alone (S_in) vs
# fused with the depth network (S_out, I2 from its confidence) vs fused with a sensor's depth
# (S_out, I2 = 1 - d / d_max), on held-out synthetic composites and held-out real human_seg
# photos; the depth confidence's AUSE against an oracle and a random order; SEEDS seeds.
# From the project root (../shared/data beside it), with build/pictor built:
#   experiments/portrait/run.sh            # STEPS=80 SEEDS="0 1 2" NTEST=60, seeds in parallel
#   STEPS=2400 NTEST=200 experiments/portrait/run.sh   # the seed's 16 epochs of 1,200 composites
# (PAR=0: seeds one after the other with THREADS=2; the default runs them side by side with one
# thread each, for a machine shared with other work)
# Writes runs/portrait/results_STEPS/*.json and experiments/portrait/results_STEPS.md (the table).
set -eu
PICTOR=${PICTOR:-build/pictor}
STEPS=${STEPS:-80}
NTEST=${NTEST:-60}
PAR=${PAR:-1}
THREADS=${THREADS:-1}
SEEDS=${SEEDS:-"0 1 2"}
D=${DATA:-../shared/data}
CFG=configs/portrait/synth_mbv3.yaml
OUT=runs/portrait
RES=$OUT/results_$STEPS
mkdir -p $OUT/data $RES
N="nice -n 5"
if [ ! -f $OUT/data/synth_train.h5 ]; then
  $N $PICTOR portrait synth --people $D/human_seg/train --backgrounds $D/coco_mval/img --n 1200 --size 128 --out $OUT/data/synth_train.h5
fi
if [ ! -f $OUT/data/synth_test.h5 ]; then
  $N $PICTOR portrait synth --people $D/human_seg/train --backgrounds $D/coco_mval/img --split test --n $NTEST --size 128 --out $OUT/data/synth_test.h5
fi
if [ ! -f $OUT/data/synth_test_sensor.h5 ]; then
  $N $PICTOR portrait synth --people $D/human_seg/train --backgrounds $D/coco_mval/img --split test --sensor --n $NTEST --size 128 --out $OUT/data/synth_test_sensor.h5
fi
# the real held-out photos: the test-side people of the synthetic split (every fifth in sorted
# order), linked (not copied) and imported with their masks
if [ ! -f $OUT/data/real_test.h5 ]; then
  R=$OUT/data/real_test_links
  rm -rf $R && mkdir -p $R/images $R/masks
  i=0
  for f in $(ls $D/human_seg/train/images | LC_ALL=C sort); do
    if [ $((i % 5)) -eq 0 ]; then
      s=${f%.*}
      ln -s "$(cd $D/human_seg/train/images && pwd)/$f" $R/images/$f
      ln -s "$(cd $D/human_seg/train/masks && pwd)/$s.png" $R/masks/$s.png
    fi
    i=$((i + 1))
  done
  $PICTOR data import-masks $R --images images --masks masks --out $OUT/data/real_test.h5
fi
one_seed() {
  s=$1
  run=portrait_${STEPS}_s$s
  if [ ! -f runs/$run/weights.safetensors ]; then
    $N $PICTOR train $CFG --set run.name=$run --set train.seed=$s --set train.max_steps=$STEPS \
      --set train.eval_every=0 --set train.threads=$THREADS --set data.val= \
      > $RES/train_s$s.log 2>&1
  fi
  W=runs/$run/weights.safetensors
  ev() { # name, extra --set ...
    name=$1; shift
    $N $PICTOR eval $CFG --weights $W --set train.threads=$THREADS "$@" | tail -1 \
      > $RES/${name}_s$s.json
  }
  ev synth_none --set model.fusion=none
  ev synth_network --set model.fusion=network
  ev synth_sensor --set model.fusion=sensor --set data.val=$OUT/data/synth_test_sensor.h5
  ev real_none --set model.fusion=none --set data.val=$OUT/data/real_test.h5
  ev real_network --set model.fusion=network --set data.val=$OUT/data/real_test.h5
}
for s in $SEEDS; do
  if [ "$PAR" = 1 ]; then one_seed $s & else one_seed $s; fi
done
wait
python3 experiments/portrait/table.py $RES "$SEEDS" > experiments/portrait/results_$STEPS.md
cat experiments/portrait/results_$STEPS.md
