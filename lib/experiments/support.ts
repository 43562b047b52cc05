/** The support table lives with the device API (it gates hazards there); the experiments read it from here. */
export * from '../device/support';
