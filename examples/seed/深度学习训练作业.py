# 深度学习训练作业 — from the 0.1.x README, unchanged.
from desam_client import DeSAMClient

client = DeSAMClient(host="localhost", port=50051, api_key="sk-admin-1234567890abcdef")

# 提交一个深度学习训练作业
job_id = client.submit_job(
    name="ResNet50训练",
    command="python train.py --model resnet50 --epochs 100 --lr 0.01",
    cpu=8,
    memory_mb=32768,
    gpu=2,
    working_dir="/workspace/training",
    env={
        "CUDA_VISIBLE_DEVICES": "0,1",
        "DATA_PATH": "/data/imagenet",
        "MODEL_PATH": "/models",
        "TENSORBOARD_LOG": "/logs",
    },
    timeout=7200,  # 2小时
    retries=2,  # 失败重试2次
    artifacts=[
        "dataset/imagenet/train.zip",
        "dataset/imagenet/val.zip",
        "models/resnet50-pretrained.pth",
        "configs/training_config.yaml",
    ],
    labels={
        "project": "computer-vision",
        "experiment": "resnet50-baseline",
        "dataset": "imagenet",
        "priority": "high",
    },
    description="使用ResNet50在ImageNet数据集上训练基线模型",
    metadata={"owner": "alice@example.com", "cost_center": "ML-PLATFORM"},
)

print(f"作业提交成功: {job_id}")
