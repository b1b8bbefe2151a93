"""A script whose argparse command line is not satisfied: it must fail with its usage."""

import argparse

import pyNN.nest as sim

parser = argparse.ArgumentParser(description="needs a network size")
parser.add_argument("size", type=int, help="number of neurons")
options = parser.parse_args()
sim.setup()
